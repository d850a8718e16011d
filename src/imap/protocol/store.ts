/**
 * STORE arguments after the sequence set (RFC 3501 §6.4.6, RFC 7162 UNCHANGEDSINCE).
 *
 *   STORE 1:3 +FLAGS.SILENT (\Seen \Flagged)
 *   STORE 2 (UNCHANGEDSINCE 320162338) FLAGS $Junk
 */
import { ProtocolError } from "./errors.ts";
import { parseModSeq } from "./fetch-items.ts";
import type { Token } from "./tokens.ts";

export interface StoreArgs { mode: "set" | "add" | "remove"; silent: boolean; flags: string[]; unchangedSince?: bigint }

// flag = "\" atom | atom; atom-specials excluded (and "]", which no real flag carries).
const FLAG_RE = /^\\?[^\x00-\x20\x7f-\uffff(){%*"\\\]]+$/;

export function parseFlag(tok: Token): string {
  if (tok.t !== "atom" || !FLAG_RE.test(tok.v)) throw new ProtocolError("Invalid flag");
  return tok.v;
}

export function parseStoreArgs(args: Token[]): StoreArgs {
  let i = 0;
  let unchangedSince: bigint | undefined;
  const first = args[0];
  if (first && first.t === "list") {
    const m = first.v;
    if (m.length !== 2 || m[0].t !== "atom" || m[0].v.toUpperCase() !== "UNCHANGEDSINCE") {
      throw new ProtocolError("Unknown STORE modifier");
    }
    unchangedSince = parseModSeq(m[1]);
    i = 1;
  }
  const item = args[i];
  const im = item && item.t === "atom" ? /^([+-]?)FLAGS(\.SILENT)?$/i.exec(item.v) : null;
  if (!im) throw new ProtocolError("Expected FLAGS, +FLAGS or -FLAGS");
  const rest = args.slice(i + 1);
  let flagToks: Token[];
  if (rest.length === 1 && rest[0].t === "list") flagToks = rest[0].v;
  else if (rest.length > 0 && rest.every((t) => t.t === "atom")) flagToks = rest;
  else throw new ProtocolError("Invalid flag list");
  const out: StoreArgs = {
    mode: im[1] === "+" ? "add" : im[1] === "-" ? "remove" : "set",
    silent: im[2] !== undefined,
    flags: flagToks.map(parseFlag),
  };
  if (unchangedSince !== undefined) out.unchangedSince = unchangedSince;
  return out;
}
