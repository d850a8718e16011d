import { expectArgs, ok, type CommandSpec } from "./result.ts";

/** NOOP and CHECK: nothing to do but deliver pending folder updates (done by the session). */
export const noop: CommandSpec = {
  names: ["NOOP", "CHECK"],
  states: ["notauth", "auth", "selected"],
  allowsExpunge: true,
  async run(_s, cmd) {
    expectArgs(cmd, 0);
    return ok(`${cmd.name} completed`);
  },
};
