import { ActionError, storeFlags } from "../../quarantine/actions.ts";
import { parseStoreArgs, ProtocolError } from "../protocol/index.ts";
import { resolveSet } from "../session/sequence.ts";
import { flagsList } from "../session/sync.ts";
import { no, ok, type CommandSpec } from "./result.ts";

/**
 * STORE / UID STORE: this account's own flags (each login has its own \Seen). Caught accepts
 * STORE (fetchmail sets \Seen); \Deleted then EXPUNGE removes from the quarantine. UIDs that
 * are already gone are skipped silently (Outlook stores \Deleted after its COPY released them).
 * A message takes at most MAX_KEYWORDS_PER_MESSAGE keywords of MAX_KEYWORD_LENGTH characters;
 * a STORE past that answers NO [LIMIT] and changes nothing.
 */
export const store: CommandSpec = {
  names: ["STORE"],
  states: ["selected"],
  uid: true,
  async run(s, cmd) {
    if (cmd.args.length < 2) throw new ProtocolError("STORE needs a sequence set, an action and flags");
    const sel = s.selected!;
    const args = parseStoreArgs(cmd.args.slice(1));
    if (sel.readOnly) return no("The folder is open read-only", "READ-ONLY");
    const uids = resolveSet(sel, cmd.args[0], !!cmd.uid);
    if (!sel.folder.shows || uids.length === 0) return ok("STORE completed");
    const unchangedSince = args.unchangedSince === undefined ? undefined : Number(args.unchangedSince);
    if (unchangedSince !== undefined) s.enabled.add("CONDSTORE");
    let r: Awaited<ReturnType<typeof storeFlags>>;
    try {
      r = await storeFlags(s.deps.store, s.scope!, uids, args.mode, args.flags, unchangedSince);
    } catch (e) {
      // too many or too long keywords (RFC 5530 LIMIT): nothing was changed
      if (e instanceof ActionError && e.code === "LIMIT") return no(e.message, "LIMIT");
      throw e;
    }
    for (const [uid, f] of r.changed) sel.flags.set(uid, f);
    // answered below (or silenced), so the change log must not announce them to this session again
    sel.noteOwnChanges(r.changed);
    if (r.changed.size) s.deps.notifier.kick();
    const condstore = s.enabled.has("CONDSTORE");
    // Report the resulting flags (unless .SILENT); under CONDSTORE always with MODSEQ (RFC 7162 §3.2).
    for (const uid of uids) {
      const changed = r.changed.get(uid);
      if (args.silent && !(condstore && changed)) continue;
      if (r.failed.includes(uid)) continue;
      const seq = sel.seqOf(uid);
      if (!seq) continue;
      const uidPart = cmd.uid ? `UID ${uid} ` : "";
      const mod = condstore ? ` MODSEQ (${Math.max(1, sel.flags.get(uid)?.modseq ?? sel.modseq)})` : "";
      if (args.silent) s.out.line(`* ${seq} FETCH (${uidPart}MODSEQ (${Math.max(1, changed!.modseq)}))`);
      else s.out.line(`* ${seq} FETCH (${uidPart}FLAGS ${flagsList(s, uid)}${mod})`);
    }
    if (r.failed.length) {
      const list = cmd.uid ? r.failed : r.failed.map((u) => sel.seqOf(u)).filter(Boolean);
      return ok("Conditional STORE failed for some messages", `MODIFIED ${list.join(",")}`);
    }
    return ok(`${cmd.uid ? "UID " : ""}STORE completed`);
  },
};
