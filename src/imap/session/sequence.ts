/**
 * Resolving a command's sequence set (message numbers, or UIDs under the UID prefix, or "$")
 * to the UIDs of the selected view, in ascending order.
 */
import { parseSequenceSet, ProtocolError, STAR, type SeqRange, type Token } from "../protocol/index.ts";
import type { SelectedMailbox } from "./selected.ts";

export function resolveSet(sel: SelectedMailbox, tok: Token | undefined, byUid: boolean): number[] {
  if (!tok || tok.t !== "atom") throw new ProtocolError("Expected a sequence set");
  const parsed = parseSequenceSet(tok.v, { allowDollar: true });
  if (parsed === "$") return [...sel.saved].filter((u) => sel.has(u)).sort((a, b) => a - b);
  return byUid ? uidsInRanges(sel, parsed) : seqsToUids(sel, parsed);
}

export function uidsInRanges(sel: SelectedMailbox, ranges: SeqRange[]): number[] {
  const uids = sel.uids;
  const n = uids.length;
  if (n === 0) return [];
  const max = uids[n - 1];
  const out = new Set<number>();
  for (let [a, b] of ranges) {
    // "*" is the highest UID in use; a range naming it always includes that message.
    if (a === STAR) a = max;
    if (b === STAR) b = max;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    let i = lowerBound(uids, lo);
    for (; i < n && uids[i] <= hi; i++) out.add(uids[i]);
  }
  return [...out].sort((x, y) => x - y);
}

export function seqsToUids(sel: SelectedMailbox, ranges: SeqRange[]): number[] {
  const n = sel.uids.length;
  const out = new Set<number>();
  for (let [a, b] of ranges) {
    if (a === STAR) a = n;
    if (b === STAR) b = n;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (lo < 1 || hi > n) throw new ProtocolError("Invalid message sequence number");
    for (let i = lo; i <= hi; i++) out.add(sel.uids[i - 1]);
  }
  return [...out].sort((x, y) => x - y);
}

function lowerBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
