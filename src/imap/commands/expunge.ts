import { remove } from "../../quarantine/actions.ts";
import { resolveSet } from "../session/sequence.ts";
import { announceExpunge } from "../session/sync.ts";
import { expectArgs, no, ok, type CommandSpec } from "./result.ts";

/**
 * EXPUNGE / UID EXPUNGE: \Deleted messages of Caught leave the quarantine. Messages already
 * gone (released by a COPY just before, as Outlook does) are only removed from the view.
 */
export const expunge: CommandSpec = {
  names: ["EXPUNGE"],
  states: ["selected"],
  uid: true,
  allowsExpunge: true,
  async run(s, cmd) {
    expectArgs(cmd, cmd.uid ? 1 : 0);
    const sel = s.selected!;
    if (sel.readOnly) return no("The folder is open read-only", "READ-ONLY");
    let candidates = [...sel.uids];
    if (cmd.uid) {
      const set = new Set(resolveSet(sel, cmd.args[0], true));
      candidates = candidates.filter((u) => set.has(u));
    }
    const deleted = candidates.filter((u) => sel.flagBits(u) & 8);
    if (deleted.length && sel.folder.shows) {
      await remove(s.deps.store, { scope: s.scope!, clientAddr: s.remoteAddress, via: "imap" }, deleted);
      s.deps.notifier.kick();
    }
    announceExpunge(s, deleted);
    return ok(`${cmd.uid ? "UID " : ""}EXPUNGE completed`);
  },
};
