import { expectArgs, ok, type CommandSpec } from "./result.ts";

/** CAPABILITY: what this session may use now (changes after STARTTLS and login). */
export const capability: CommandSpec = {
  names: ["CAPABILITY"],
  states: ["notauth", "auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 0);
    s.out.line(`* CAPABILITY ${s.capabilities().join(" ")}`);
    return ok("CAPABILITY completed");
  },
};
