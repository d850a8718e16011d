import { remove } from "../../quarantine/actions.ts";
import { expectArgs, ok, type CommandSpec } from "./result.ts";

/**
 * CLOSE expunges \Deleted messages silently (removing them from the quarantine, unless
 * read-only), UNSELECT does not; both leave the selected state.
 */
export const close: CommandSpec = {
  names: ["CLOSE", "UNSELECT"],
  states: ["selected"],
  async run(s, cmd) {
    expectArgs(cmd, 0);
    const sel = s.selected!;
    if (cmd.name === "CLOSE" && !sel.readOnly && sel.folder.shows) {
      const deleted = [...sel.uids].filter((u) => sel.flagBits(u) & 8);
      if (deleted.length) {
        await remove(s.deps.store, { scope: s.scope!, clientAddr: s.remoteAddress, via: "imap" }, deleted);
        s.deps.notifier.kick();
      }
    }
    s.selected = undefined;
    s.state = "auth";
    return { ...ok(`${cmd.name} completed`), noSync: true };
  },
};
