import { no, type CommandSpec } from "./result.ts";

/** CREATE, DELETE, RENAME: the folders are fixed (DESIGN.md). */
export const mailboxAdmin: CommandSpec = {
  names: ["CREATE", "DELETE", "RENAME"],
  states: ["auth", "selected"],
  async run(_s, cmd) {
    return no(`${cmd.name} is not possible here: the quarantine's folders are fixed`, "CANNOT");
  },
};
