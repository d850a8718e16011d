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
  // "*" is the highest UID in use; a range naming it always includes that message.
  const out: number[] = [];
  for (const [lo, hi] of mergeRanges(ranges, uids[n - 1])) {
    for (let i = lowerBound(uids, lo); i < n && uids[i] <= hi; i++) out.push(uids[i]);
  }
  return out;
}

export function seqsToUids(sel: SelectedMailbox, ranges: SeqRange[]): number[] {
  const n = sel.uids.length;
  const out: number[] = [];
  for (const [lo, hi] of mergeRanges(ranges, n)) {
    if (lo < 1 || hi > n) throw new ProtocolError("Invalid message sequence number");
    for (let i = lo; i <= hi; i++) out.push(sel.uids[i - 1]);
  }
  return out;
}

/**
 * Ranges with "*" as `max`, ascending, overlaps and neighbours merged: each message is visited
 * once however the client wrote the set (8,000 times "1:*" was 8,000 passes over the folder).
 */
export function mergeRanges(ranges: SeqRange[], max: number): [number, number][] {
  const rs = ranges.map(([a, b]): [number, number] => {
    if (a === STAR) a = max;
    if (b === STAR) b = max;
    return a <= b ? [a, b] : [b, a];
  }).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of rs) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
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
