/**
 * Sequence sets (RFC 3501 §9 sequence-set, RFC 5182 "$").
 *
 *   1,3:5,7   1:*   *:4   4:2 (same as 2:4)   $
 *
 * "*" is kept as STAR (0xFFFFFFFF); the caller maps it to the largest sequence number or UID.
 */
import { clientText, ProtocolError } from "./errors.ts";

export type SeqRange = [number, number];
export const STAR = 0xffffffff;

function seqNumber(s: string, whole: string): number {
  if (s === "*") return STAR;
  // nz-number: no leading zeros, 1..2^32-1
  if (!/^[1-9][0-9]{0,9}$/.test(s)) throw new ProtocolError(`Invalid sequence set: ${clientText(whole)}`);
  const n = Number(s);
  if (n > 0xffffffff) throw new ProtocolError(`Invalid sequence set: ${clientText(whole)}`);
  return n;
}

export function parseSequenceSet(s: string, opts: { allowDollar?: boolean } = {}): SeqRange[] | "$" {
  if (s === "$") {
    if (opts.allowDollar) return "$";
    throw new ProtocolError("$ is not allowed here");
  }
  if (s.length === 0) throw new ProtocolError("Empty sequence set");
  const out: SeqRange[] = [];
  for (const part of s.split(",")) {
    const colon = part.indexOf(":");
    if (colon < 0) {
      const n = seqNumber(part, s);
      out.push([n, n]);
    } else {
      const a = seqNumber(part.slice(0, colon), s);
      const b = seqNumber(part.slice(colon + 1), s);
      out.push(a <= b ? [a, b] : [b, a]);
    }
  }
  return out;
}

function seqNum(n: number): string {
  return n === STAR ? "*" : String(n);
}

/**
 * Compact form, keeping the order (COPYUID pairs source and destination sets by position):
 * adjacent ascending ranges merge, "3,4,5" → "3:5".
 */
export function seqSetToString(r: SeqRange[]): string {
  const parts: string[] = [];
  let lo = -1, hi = -1;
  const flush = () => {
    if (lo >= 0) parts.push(lo === hi ? seqNum(lo) : `${seqNum(lo)}:${seqNum(hi)}`);
  };
  for (const [a, b] of r) {
    if (lo >= 0 && a === hi + 1) {
      hi = b;
    } else {
      flush();
      lo = a;
      hi = b;
    }
  }
  flush();
  return parts.join(",");
}
