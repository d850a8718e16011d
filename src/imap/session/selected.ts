/**
 * The state of a selected folder in one session: its UID list (message sequence numbers are
 * positions in it), this account's flags, and the MODSEQ it is current to. Changes made by
 * other sessions or processes arrive through the change log and are turned into EXISTS,
 * EXPUNGE/VANISHED and FETCH FLAGS responses at the points RFC 3501 §7.4.1 allows.
 *
 * The UID array is never mutated in place, so sessions of the same view can share one.
 */
import type { FolderDef } from "../../quarantine/folders.ts";
import type { Direction } from "../../quarantine/scope.ts";
import type { Change, FlagState } from "../../quarantine/mailbox.ts";

export class SelectedMailbox {
  uids: Uint32Array;
  /** removed elsewhere, not yet announced (EXPUNGE is not allowed during FETCH/STORE/SEARCH) */
  readonly pendingExpunge = new Set<number>();
  /** flag changes made by this account's other sessions, to announce as FETCH (FLAGS) */
  readonly pendingFlags = new Set<number>();
  /** UIDs saved by SEARCH RETURN (SAVE), for "$" */
  saved = new Set<number>();
  /**
   * Flag changes this session made itself (change-log MODSEQ → UID), already answered by the
   * command that made them (STORE, FETCH setting \Seen): absorbed without a second FETCH.
   */
  private readonly own = new Map<number, number>();

  constructor(
    readonly folder: FolderDef,
    readonly readOnly: boolean,
    uids: Uint32Array,
    public flags: Map<number, FlagState>,
    public uidNext: number,
    /** change-log position this view reflects */
    public modseq: number,
    readonly uidValidity: number,
  ) {
    this.uids = uids;
  }

  get exists(): number {
    return this.uids.length;
  }

  /** 1-based sequence number of a UID, or 0 when not in the view. */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid];
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  has(uid: number): boolean {
    return this.seqOf(uid) !== 0;
  }

  flagBits(uid: number): number {
    return this.flags.get(uid)?.bits ?? 0;
  }

  /** Records flag changes made by this session, so the change log doesn't announce them again. */
  noteOwnChanges(changed: Map<number, { modseq: number }>): void {
    for (const [uid, f] of changed) this.own.set(f.modseq, uid);
  }

  /** Whether a change in the log is one of this session's own flag changes, not yet absorbed. */
  isOwnChange(c: Change): boolean {
    return c.kind === "flags" && this.own.get(c.modseq) === c.uid;
  }

  /** Applies a batch of changes from the log. New UIDs are appended (they are always higher). */
  absorb(changes: Change[], direction: Direction | undefined, newFlags: Map<number, FlagState>): { added: number } {
    const addSet = new Set<number>();
    for (const c of changes) {
      if (c.modseq > this.modseq) this.modseq = c.modseq;
      if (!direction) continue;
      if (c.kind === "add") {
        if (!this.has(c.uid)) addSet.add(c.uid);
      } else if (c.kind === "remove") {
        if (this.has(c.uid)) this.pendingExpunge.add(c.uid);
        addSet.delete(c.uid);
      } else if (c.kind === "flags") {
        if (this.isOwnChange(c)) this.own.delete(c.modseq);
        else if (this.has(c.uid)) this.pendingFlags.add(c.uid);
      }
    }
    for (const [uid, f] of newFlags) this.flags.set(uid, f);
    const adds = [...addSet];
    if (adds.length) {
      adds.sort((a, b) => a - b);
      const next = new Uint32Array(this.uids.length + adds.length);
      next.set(this.uids);
      next.set(adds, this.uids.length);
      // keep ascending order even if an add is lower than the last UID (should not happen)
      if (this.uids.length && adds[0] < this.uids[this.uids.length - 1]) next.sort();
      this.uids = next;
      this.uidNext = Math.max(this.uidNext, adds[adds.length - 1] + 1);
    }
    return { added: adds.length };
  }

  /**
   * Removes UIDs from the view; returns the sequence numbers to announce, in the order
   * EXPUNGE responses must be sent (each number valid at the moment it is sent).
   */
  expunge(uids: Iterable<number>): { seqs: number[]; uids: number[] } {
    const gone = new Set<number>();
    for (const u of uids) if (this.has(u)) gone.add(u);
    if (gone.size === 0) return { seqs: [], uids: [] };
    const seqs: number[] = [];
    const keep = new Uint32Array(this.uids.length - gone.size);
    let k = 0;
    let removedBefore = 0;
    for (let i = 0; i < this.uids.length; i++) {
      const u = this.uids[i];
      if (gone.has(u)) {
        // after earlier removals, this message's number is its index+1 minus those removed before it
        seqs.push(i + 1 - removedBefore);
        removedBefore++;
        this.flags.delete(u);
        this.pendingExpunge.delete(u);
        this.pendingFlags.delete(u);
      } else keep[k++] = u;
    }
    this.uids = keep;
    return { seqs, uids: [...gone].sort((a, b) => a - b) };
  }
}
