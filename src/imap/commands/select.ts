import { astring, clientText, parseModSeq, parseSequenceSet, ProtocolError, STAR } from "../protocol/index.ts";
import { flagNames } from "../../quarantine/mailbox.ts";
import { MAX_KEYWORDS_PER_MESSAGE } from "../../quarantine/actions.ts";
import { folderUidValidity, lookupFolder } from "../session/folders.ts";
import { SelectedMailbox } from "../session/selected.ts";
import type { ImapSession } from "../session/session.ts";
import { uidsToSet } from "../session/sync.ts";
import { expectArgs, mailboxArg, no, ok, type CommandEvent, type CommandSpec } from "./result.ts";

const FLAGS = "(\\Answered \\Flagged \\Deleted \\Seen \\Draft)";

interface SelectParams {
  condstore: boolean;
  qresync?: { uidValidity: number; modseq: number; knownUids?: string };
}

function parseParams(s: ImapSession, cmd: CommandEvent): SelectParams {
  const p: SelectParams = { condstore: false };
  const opts = cmd.args[1];
  if (!opts) return p;
  if (opts.t !== "list") throw new ProtocolError("Expected a list of select parameters");
  for (let i = 0; i < opts.v.length; i++) {
    const name = astring(opts.v[i]).toUpperCase();
    if (name === "CONDSTORE") p.condstore = true;
    else if (name === "QRESYNC") {
      if (!s.enabled.has("QRESYNC")) throw new ProtocolError("QRESYNC must be enabled first");
      const q = opts.v[++i];
      if (!q || q.t !== "list" || q.v.length < 2) throw new ProtocolError("QRESYNC needs (uidvalidity modseq [known-uids])");
      const uidValidity = Number(astring(q.v[0]));
      const modseq = Number(parseModSeq(q.v[1]));
      const knownUids = q.v[2] && q.v[2].t === "atom" ? q.v[2].v : undefined;
      p.qresync = { uidValidity, modseq, knownUids };
    } else throw new ProtocolError(`Unknown select parameter ${clientText(name)}`);
  }
  return p;
}

/** SELECT and EXAMINE: every folder is selectable; action folders are empty. */
export const select: CommandSpec = {
  names: ["SELECT", "EXAMINE"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 1, 2);
    const params = parseParams(s, cmd);
    if (params.condstore) s.enabled.add("CONDSTORE");
    // Selecting closes the previous folder without expunging (RFC 3501 §6.3.1).
    if (s.selected) {
      s.selected = undefined;
      s.state = "auth";
      if (s.enabled.has("QRESYNC")) s.out.line("* OK [CLOSED] Previous mailbox closed");
    }
    const folder = lookupFolder(s, mailboxArg(cmd.args[0]));
    if (!folder) return no("No such folder", "NONEXISTENT");
    const scope = s.scope!;
    const uidValidity = folderUidValidity(s, folder);
    const readOnly = cmd.name === "EXAMINE";
    let sel: SelectedMailbox;
    if (folder.shows) {
      const snap = await s.deps.views.snapshot(scope, folder.shows);
      const flags = snap.uids.length ? await s.deps.mailbox.flags(scope.accountId, snap.uids[0], snap.uids[snap.uids.length - 1]) : new Map();
      sel = new SelectedMailbox(folder, readOnly, snap.uids, flags, snap.uidNext, snap.modseq, uidValidity);
    } else {
      const modseq = await s.deps.mailbox.currentModseq();
      sel = new SelectedMailbox(folder, readOnly, new Uint32Array(0), new Map(), 1, modseq, uidValidity);
    }
    s.out.line(`* FLAGS ${FLAGS}`);
    s.out.line(`* ${sel.exists} EXISTS`);
    s.out.line("* 0 RECENT");
    // \* stays: new keywords can be made until a message has MAX_KEYWORDS_PER_MESSAGE (then STORE says NO [LIMIT])
    s.out.line(`* OK [PERMANENTFLAGS ${readOnly ? "()" : "(\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)"}] Flags permitted${readOnly ? "" : `; at most ${MAX_KEYWORDS_PER_MESSAGE} keywords a message`}`);
    s.out.line(`* OK [UIDVALIDITY ${uidValidity}] UIDs valid`);
    s.out.line(`* OK [UIDNEXT ${sel.uidNext}] Predicted next UID`);
    s.out.line(`* OK [HIGHESTMODSEQ ${Math.max(1, sel.modseq)}] Highest`);
    let firstUnseen = 0;
    for (let i = 0; i < sel.uids.length; i++) if (!(sel.flagBits(sel.uids[i]) & 1)) { firstUnseen = i + 1; break; }
    if (firstUnseen) s.out.line(`* OK [UNSEEN ${firstUnseen}] First unseen`);
    if (params.qresync && params.qresync.uidValidity === uidValidity && folder.shows) {
      await qresyncReplay(s, sel, params.qresync.modseq, params.qresync.knownUids);
    }
    s.selected = sel;
    s.state = "selected";
    return ok(`${cmd.name} completed`, readOnly ? "READ-ONLY" : "READ-WRITE");
  },
};

/** QRESYNC (RFC 7162 §3.2.5): VANISHED (EARLIER) for removals since modseq, FETCH for flag changes. */
async function qresyncReplay(s: ImapSession, sel: SelectedMailbox, since: number, knownUids?: string): Promise<void> {
  const changes = await s.deps.mailbox.changesSince(s.scope!, sel.folder.shows!, s.scope!.accountId, since, 100000);
  const removed = new Set<number>();
  const touched = new Set<number>();
  for (const c of changes) {
    if (c.kind === "remove" && !sel.has(c.uid)) removed.add(c.uid);
    else if (sel.has(c.uid)) touched.add(c.uid);
  }
  let vanished = [...removed];
  if (knownUids) {
    const ranges = parseSequenceSet(knownUids);
    if (ranges !== "$") vanished = vanished.filter((u) => ranges.some(([a, b]) => u >= a && u <= (b === STAR ? Infinity : b)));
  }
  if (vanished.length) s.out.line(`* VANISHED (EARLIER) ${uidsToSet(vanished.sort((a, b) => a - b))}`);
  for (const uid of [...touched].sort((a, b) => a - b)) {
    const f = sel.flags.get(uid);
    s.out.line(`* ${sel.seqOf(uid)} FETCH (UID ${uid} FLAGS (${flagNames(f?.bits ?? 0, f?.keywords).join(" ")}) MODSEQ (${Math.max(f?.modseq ?? 0, 1)}))`);
  }
}
