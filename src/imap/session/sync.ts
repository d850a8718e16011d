/**
 * Brings a session's selected folder up to date with the change log and writes the untagged
 * responses: EXPUNGE (or VANISHED under QRESYNC) when allowed, EXISTS for new messages, and
 * FETCH FLAGS for flag changes made by the same account elsewhere (other sessions or
 * processes: the session's own STORE and FETCH \Seen changes were answered by those commands).
 * Never "* 0 EXISTS" in an expunge burst: EXISTS is only sent when messages were added.
 */
import { flagNames } from "../../quarantine/mailbox.ts";
import { seqSetToString, type SeqRange } from "../protocol/index.ts";
import type { ImapSession } from "./session.ts";

export function uidsToSet(uids: number[]): string {
  const ranges: SeqRange[] = [];
  for (const u of uids) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] + 1 === u) last[1] = u;
    else ranges.push([u, u]);
  }
  return seqSetToString(ranges);
}

export function flagsList(s: ImapSession, uid: number): string {
  const f = s.selected!.flags.get(uid);
  return `(${flagNames(f?.bits ?? 0, f?.keywords).join(" ")})`;
}

/** Announces removals from the view now (used by EXPUNGE, MOVE and sync). */
export function announceExpunge(s: ImapSession, uids: Iterable<number>): void {
  const sel = s.selected!;
  const { seqs, uids: gone } = sel.expunge(uids);
  if (gone.length === 0) return;
  if (s.enabled.has("QRESYNC")) s.out.line(`* VANISHED ${uidsToSet(gone)}`);
  else for (const n of seqs) s.out.line(`* ${n} EXPUNGE`);
}

export async function syncMailbox(s: ImapSession, opts: { expunge: boolean }): Promise<void> {
  const sel = s.selected;
  if (!sel || !s.scope) return;
  const direction = sel.folder.shows;
  if (!direction) return;
  const changes = await s.deps.mailbox.changesSince(s.scope, direction, s.scope.accountId, sel.modseq);
  if (changes.length) {
    // this session's own flag changes were answered by the command that made them
    const flagUids = new Set(changes.filter((c) => c.kind === "flags" && sel.has(c.uid) && !sel.isOwnChange(c)).map((c) => c.uid));
    let newFlags = new Map();
    if (flagUids.size) {
      let lo = Infinity;
      let hi = 0;
      for (const u of flagUids) (lo = Math.min(lo, u)), (hi = Math.max(hi, u));
      const all = await s.deps.mailbox.flags(s.scope.accountId, lo, hi);
      newFlags = new Map([...all].filter(([uid]) => flagUids.has(uid)));
    }
    const { added } = sel.absorb(changes, direction, newFlags);
    if (opts.expunge && sel.pendingExpunge.size) announceExpunge(s, [...sel.pendingExpunge]);
    if (added > 0) s.out.line(`* ${sel.exists} EXISTS`);
  } else if (opts.expunge && sel.pendingExpunge.size) {
    announceExpunge(s, [...sel.pendingExpunge]);
  }
  if (sel.pendingFlags.size) {
    const condstore = s.enabled.has("CONDSTORE") || s.enabled.has("QRESYNC");
    for (const uid of [...sel.pendingFlags].sort((a, b) => a - b)) {
      const seq = sel.seqOf(uid);
      if (!seq) continue;
      const mod = condstore ? ` MODSEQ (${sel.flags.get(uid)?.modseq ?? sel.modseq})` : "";
      s.out.line(`* ${seq} FETCH (UID ${uid} FLAGS ${flagsList(s, uid)}${mod})`);
    }
    sel.pendingFlags.clear();
  }
}
