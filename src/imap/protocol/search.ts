/**
 * SEARCH arguments (RFC 3501 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 MODSEQ).
 *
 *   SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM alice (SINCE 1-Jan-2026 NOT SEEN) 1:100 UID 5:*
 *
 * Top-level keys are ANDed. Search strings are astrings decoded as UTF-8.
 */
import { clientText, ProtocolError } from "./errors.ts";
import { astring } from "./encode.ts";
import { parseDateArg } from "./dates.ts";
import { parseModSeq } from "./fetch-items.ts";
import { parseSequenceSet, type SeqRange } from "./sequence-set.ts";
import type { Token } from "./tokens.ts";

export type SearchKey =
  | { k: "all" }
  | { k: "seq"; set: SeqRange[] | "$" }
  | { k: "uid"; set: SeqRange[] | "$" }
  | { k: "flag"; flag: string; set: boolean }
  | { k: "header"; field: string; value: string }
  | { k: "body" | "text"; value: string }
  | { k: "date"; which: "internal" | "sent"; op: "before" | "on" | "since"; y: number; m: number; d: number }
  | { k: "size"; op: "larger" | "smaller"; n: number }
  | { k: "modseq"; n: bigint }
  | { k: "not"; key: SearchKey }
  | { k: "or"; a: SearchKey; b: SearchKey }
  | { k: "and"; keys: SearchKey[] };

export interface SearchReturn { min?: boolean; max?: boolean; all?: boolean; count?: boolean; save?: boolean }
export interface ParsedSearch { charset?: string; key: SearchKey; ret?: SearchReturn }

const CHARSETS = new Set(["US-ASCII", "UTF-8"]);
/** NOT/OR nesting is recursion; keep it far below any stack limit. */
const MAX_NESTING = 100;

/**
 * Implementation limits (RFC 5530 LIMIT), far above what a mail client sends (a few keys, a few
 * words) and low enough that one SEARCH cannot hold the server: every key is evaluated for every
 * message, and every string is matched against every message's fields or header block.
 */
export const SEARCH_LIMITS = {
  /** search keys of any kind, NOT / OR / parenthesised lists included */
  keys: 1000,
  /** keys that take a string (TEXT, BODY, HEADER, FROM, SUBJECT, ...) */
  strings: 100,
  /** bytes of one search string (or header field name) */
  stringBytes: 1024,
};

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true], DELETED: ["\\Deleted", true], DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true], SEEN: ["\\Seen", true], RECENT: ["\\Recent", true],
  UNANSWERED: ["\\Answered", false], UNDELETED: ["\\Deleted", false], UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false], UNSEEN: ["\\Seen", false], OLD: ["\\Recent", false],
};
const HEADER_KEYS = new Set(["FROM", "TO", "CC", "BCC", "SUBJECT"]);
const DATE_KEYS: Record<string, ["internal" | "sent", "before" | "on" | "since"]> = {
  BEFORE: ["internal", "before"], ON: ["internal", "on"], SINCE: ["internal", "since"],
  SENTBEFORE: ["sent", "before"], SENTON: ["sent", "on"], SENTSINCE: ["sent", "since"],
};
const RETURN_OPTS = new Set(["MIN", "MAX", "ALL", "COUNT", "SAVE"]);

function isAtom(tok: Token | undefined, name: string): boolean {
  return tok !== undefined && tok.t === "atom" && tok.v.toUpperCase() === name;
}

export function parseSearch(args: Token[]): ParsedSearch {
  let i = 0;
  const result: { charset?: string; ret?: SearchReturn } = {};
  if (isAtom(args[0], "RETURN")) {
    result.ret = parseReturn(args[1]);
    i = 2;
  }
  if (isAtom(args[i], "CHARSET")) {
    const cs = astring(args[i + 1]).toUpperCase();
    if (!CHARSETS.has(cs)) throw new ProtocolError(`Unsupported charset ${clientText(cs)}`, "BADCHARSET");
    result.charset = cs;
    i += 2;
  }
  const p = new KeyParser(args.slice(i), { keys: 0, strings: 0 });
  const keys: SearchKey[] = [];
  while (!p.done()) keys.push(p.key(0));
  if (keys.length === 0) throw new ProtocolError("Missing search key");
  return { ...result, key: keys.length === 1 ? keys[0] : { k: "and", keys } };
}

function parseReturn(tok: Token | undefined): SearchReturn {
  if (!tok || tok.t !== "list") throw new ProtocolError("RETURN needs a list");
  // RFC 4731: "RETURN ()" means RETURN (ALL).
  if (tok.v.length === 0) return { all: true };
  const ret: SearchReturn = {};
  for (const o of tok.v) {
    const name = o.t === "atom" ? o.v.toUpperCase() : "";
    if (!RETURN_OPTS.has(name)) throw new ProtocolError("Unknown RETURN option");
    ret[name.toLowerCase() as keyof SearchReturn] = true;
  }
  return ret;
}

function limit(message: string): ProtocolError {
  return new ProtocolError(message, "LIMIT");
}

class KeyParser {
  private i = 0;
  /** counts shared by the parsers of nested lists */
  constructor(private readonly toks: Token[], private readonly seen: { keys: number; strings: number }) {}

  done(): boolean {
    return this.i >= this.toks.length;
  }

  private next(what: string): Token {
    const t = this.toks[this.i++];
    if (!t) throw new ProtocolError(`Missing ${what}`);
    return t;
  }

  private str(what: string): string {
    return astring(this.next(what));
  }

  /** A search string or header name: counted, and refused past the size limit before it is decoded. */
  private searchString(what: string): string {
    const tok = this.next(what);
    const size = tok.t === "list" ? 0 : tok.v.length;
    if (size > SEARCH_LIMITS.stringBytes) throw limit(`Search string too long (limit ${SEARCH_LIMITS.stringBytes} bytes)`);
    return astring(tok);
  }

  private number(what: string): number {
    const s = this.str(what);
    if (!/^\d{1,10}$/.test(s) || Number(s) > 0xffffffff) throw new ProtocolError(`Invalid ${what}`);
    return Number(s);
  }

  key(depth: number): SearchKey {
    if (depth > MAX_NESTING) throw new ProtocolError("Search too deeply nested");
    const tok = this.next("search key");
    if (++this.seen.keys > SEARCH_LIMITS.keys) throw limit(`Too many search keys (limit ${SEARCH_LIMITS.keys})`);
    if (tok.t === "list") {
      if (tok.v.length === 0) throw new ProtocolError("Empty search list");
      const inner = new KeyParser(tok.v, this.seen);
      const keys: SearchKey[] = [];
      while (!inner.done()) keys.push(inner.key(depth + 1));
      return keys.length === 1 ? keys[0] : { k: "and", keys };
    }
    if (tok.t !== "atom") throw new ProtocolError("Invalid search key");
    const name = tok.v.toUpperCase();
    const flag = FLAG_KEYS[name];
    if (flag) return { k: "flag", flag: flag[0], set: flag[1] };
    if ((HEADER_KEYS.has(name) || name === "HEADER" || name === "BODY" || name === "TEXT") && ++this.seen.strings > SEARCH_LIMITS.strings) {
      throw limit(`Too many search strings (limit ${SEARCH_LIMITS.strings})`);
    }
    if (HEADER_KEYS.has(name)) return { k: "header", field: name.toLowerCase(), value: this.searchString("search string") };
    const date = DATE_KEYS[name];
    if (date) return { k: "date", which: date[0], op: date[1], ...parseDateArg(this.str("date")) };
    switch (name) {
      case "ALL":
        return { k: "all" };
      case "NEW":
        return { k: "and", keys: [{ k: "flag", flag: "\\Recent", set: true }, { k: "flag", flag: "\\Seen", set: false }] };
      case "KEYWORD":
      case "UNKEYWORD":
        return { k: "flag", flag: this.keyword(), set: name === "KEYWORD" };
      case "HEADER": {
        const field = this.searchString("header name").toLowerCase();
        return { k: "header", field, value: this.searchString("search string") };
      }
      case "BODY":
      case "TEXT":
        return { k: name === "BODY" ? "body" : "text", value: this.searchString("search string") };
      case "LARGER":
      case "SMALLER":
        return { k: "size", op: name === "LARGER" ? "larger" : "smaller", n: this.number("size") };
      case "UID":
        return { k: "uid", set: parseSequenceSet(this.str("UID set"), { allowDollar: true }) };
      case "NOT":
        return { k: "not", key: this.key(depth + 1) };
      case "OR": {
        const a = this.key(depth + 1);
        return { k: "or", a, b: this.key(depth + 1) };
      }
      case "MODSEQ":
        return this.modseq();
    }
    if (/^[0-9*$]/.test(name)) return { k: "seq", set: parseSequenceSet(tok.v, { allowDollar: true }) };
    throw new ProtocolError(`Unknown search key ${clientText(tok.v)}`);
  }

  private keyword(): string {
    const kw = this.next("keyword");
    // flag-keyword is an atom; system flags ("\Seen") are not keywords.
    if (kw.t !== "atom" || kw.v.startsWith("\\")) throw new ProtocolError("Invalid keyword");
    return kw.v;
  }

  /** MODSEQ [entry-name entry-type] mod-sequence-valzer; the per-flag entry is accepted and ignored. */
  private modseq(): SearchKey {
    const t = this.toks[this.i];
    if (t && !(t.t === "atom" && /^\d+$/.test(t.v))) {
      this.str("entry name");
      const type = this.str("entry type").toLowerCase();
      if (type !== "priv" && type !== "shared" && type !== "all") throw new ProtocolError("Invalid MODSEQ entry type");
    }
    return { k: "modseq", n: parseModSeq(this.next("mod-sequence")) };
  }
}
