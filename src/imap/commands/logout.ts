import { expectArgs, type CommandSpec } from "./result.ts";

export const logout: CommandSpec = {
  names: ["LOGOUT"],
  states: ["notauth", "auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 0);
    s.out.line("* BYE quarantined logging out");
    s.out.line(`${cmd.tag} OK LOGOUT completed`);
    await s.out.flush();
    s.end();
  },
};
