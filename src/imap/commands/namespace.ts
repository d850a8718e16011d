import { expectArgs, ok, type CommandSpec } from "./result.ts";

/** NAMESPACE: one personal namespace, no prefix, "/" delimiter. */
export const namespace: CommandSpec = {
  names: ["NAMESPACE"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 0);
    s.out.line('* NAMESPACE (("" "/")) NIL NIL');
    return ok("NAMESPACE completed");
  },
};
