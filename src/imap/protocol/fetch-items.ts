/**
 * FETCH data items (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC, RFC 8474 OBJECTID).
 *
 *   FETCH 1:* FAST
 *   FETCH 1 (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.2048> BINARY.SIZE[2])
 *   UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)
 */
import { clientText, ProtocolError } from "./errors.ts";
import type { Token } from "./tokens.ts";

type SimpleKind =
  | "UID" | "FLAGS" | "INTERNALDATE" | "RFC822.SIZE" | "ENVELOPE" | "BODYSTRUCTURE" | "BODY" | "MODSEQ"
  | "RFC822" | "RFC822.HEADER" | "RFC822.TEXT" | "EMAILID" | "THREADID";

export type SectionText = "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
export interface Section { part: number[]; text?: SectionText; fields?: string[] }
export interface Partial { start: number; length: number }

export type FetchItem =
  | { kind: SimpleKind }
  | { kind: "BODY[]"; peek: boolean; section: Section; partial?: Partial; label: string }
  | { kind: "BINARY[]"; peek: boolean; part: number[]; partial?: Partial; label: string }
  | { kind: "BINARY.SIZE"; part: number[]; label: string };

const SIMPLE = new Set<string>([
  "UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE", "BODY", "MODSEQ",
  "RFC822", "RFC822.HEADER", "RFC822.TEXT", "EMAILID", "THREADID",
]);

const MACROS: Record<string, SimpleKind[]> = {
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

const MAX_MODSEQ = (1n << 63n) - 1n;

/** mod-sequence-value: 1*DIGIT up to 2^63-1 (RFC 7162 §7). */
export function parseModSeq(tok: Token | undefined): bigint {
  if (!tok || tok.t !== "atom" || !/^\d{1,19}$/.test(tok.v)) throw new ProtocolError("Invalid mod-sequence");
  const n = BigInt(tok.v);
  if (n > MAX_MODSEQ) throw new ProtocolError("Invalid mod-sequence");
  return n;
}

export function parseFetchItems(args: Token[]): { items: FetchItem[]; changedSince?: bigint; vanished?: boolean } {
  const what = args[0];
  if (!what) throw new ProtocolError("Missing FETCH items");
  if (args.length > 2) throw new ProtocolError("Too many FETCH arguments");
  let items: FetchItem[];
  if (what.t === "list") {
    if (what.v.length === 0) throw new ProtocolError("Empty FETCH item list");
    items = what.v.map(parseItemToken);
  } else if (what.t === "atom" && MACROS[what.v.toUpperCase()]) {
    items = MACROS[what.v.toUpperCase()].map((kind) => ({ kind }));
  } else {
    items = [parseItemToken(what)];
  }
  const result: { items: FetchItem[]; changedSince?: bigint; vanished?: boolean } = { items };
  const mods = args[1];
  if (mods) {
    if (mods.t !== "list" || mods.v.length === 0) throw new ProtocolError("Invalid FETCH modifiers");
    for (let i = 0; i < mods.v.length; i++) {
      const m = mods.v[i];
      const name = m.t === "atom" ? m.v.toUpperCase() : "";
      if (name === "CHANGEDSINCE") {
        result.changedSince = parseModSeq(mods.v[++i]);
      } else if (name === "VANISHED") {
        result.vanished = true;
      } else {
        throw new ProtocolError("Unknown FETCH modifier");
      }
    }
    // RFC 7162 §3.2.6: VANISHED without CHANGEDSINCE is a BAD.
    if (result.vanished && result.changedSince === undefined) throw new ProtocolError("VANISHED requires CHANGEDSINCE");
  }
  return result;
}

function parseItemToken(tok: Token): FetchItem {
  if (tok.t !== "atom") throw new ProtocolError("Invalid FETCH item");
  return parseFetchAtt(tok.v);
}

const SECTION_RE = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)\[([^\]]*)\](?:<(\d{1,10})\.(\d{1,10})>)?$/i;

/** One fetch-att, e.g. "BODY.PEEK[1.2.MIME]<0.100>". */
export function parseFetchAtt(att: string): FetchItem {
  const upper = att.toUpperCase();
  if (SIMPLE.has(upper)) return { kind: upper as SimpleKind };
  const m = SECTION_RE.exec(att);
  if (!m) throw new ProtocolError(`Invalid FETCH item: ${clientText(att)}`);
  const name = m[1].toUpperCase();
  let partial: Partial | undefined;
  if (m[3] !== undefined) {
    const start = Number(m[3]), length = Number(m[4]);
    if (length === 0 || start > 0xffffffff || length > 0xffffffff) throw new ProtocolError("Invalid partial");
    partial = { start, length };
  }
  const suffix = partial ? `<${partial.start}>` : "";
  if (name === "BODY" || name === "BODY.PEEK") {
    const section = parseSection(m[2]);
    const label = `BODY[${sectionLabel(section)}]${suffix}`;
    const item: FetchItem = { kind: "BODY[]", peek: name === "BODY.PEEK", section, label };
    if (partial) item.partial = partial;
    return item;
  }
  const part = parsePart(m[2]);
  if (name === "BINARY.SIZE") {
    if (partial) throw new ProtocolError("BINARY.SIZE takes no partial");
    return { kind: "BINARY.SIZE", part, label: `BINARY.SIZE[${part.join(".")}]` };
  }
  const item: FetchItem = { kind: "BINARY[]", peek: name === "BINARY.PEEK", part, label: `BINARY[${part.join(".")}]${suffix}` };
  if (partial) item.partial = partial;
  return item;
}

function parsePart(s: string): number[] {
  if (s === "") return [];
  if (!/^[1-9]\d{0,8}(\.[1-9]\d{0,8})*$/.test(s)) throw new ProtocolError(`Invalid section part: ${clientText(s)}`);
  return s.split(".").map(Number);
}

/** section-spec: [part ["." text]] | text, text = HEADER | HEADER.FIELDS[.NOT] (list) | TEXT | MIME (after a part). */
export function parseSection(spec: string): Section {
  const part: number[] = [];
  let rest = spec;
  for (;;) {
    const m = /^([1-9]\d{0,8})(\.|$)/.exec(rest);
    if (!m) break;
    part.push(Number(m[1]));
    rest = rest.slice(m[0].length);
    if (m[2] === "") break;
  }
  if (rest === "") {
    if (spec.endsWith(".")) throw new ProtocolError(`Invalid section: ${clientText(spec)}`);
    return { part };
  }
  const fm = /^(HEADER\.FIELDS(?:\.NOT)?) \((.*)\)$/i.exec(rest);
  if (fm) {
    const fields = parseFieldList(fm[2]);
    return { part, text: fm[1].toUpperCase() as SectionText, fields };
  }
  const text = rest.toUpperCase();
  if (text === "HEADER" || text === "TEXT" || (text === "MIME" && part.length > 0)) {
    return { part, text };
  }
  throw new ProtocolError(`Invalid section: ${clientText(spec)}`);
}

/** header-list items: atoms or quoted strings, separated by single spaces. */
function parseFieldList(list: string): string[] {
  const s = list.trim();
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\["\\])*)"|([^\s"()]+))/y;
  let pos = 0;
  let m: RegExpExecArray | null;
  while (pos < s.length && (m = re.exec(s))) {
    out.push(m[1] !== undefined ? m[1].replace(/\\(["\\])/g, "$1") : m[2]);
    pos = re.lastIndex;
  }
  if (pos < s.length || out.length === 0) throw new ProtocolError("Invalid header field list");
  for (const f of out) {
    // field-name = 1*<printable except ":">
    if (f === "" || !/^[\x21-\x39\x3b-\x7e]+$/.test(f)) throw new ProtocolError(`Invalid header field name: ${clientText(f)}`);
  }
  return out;
}

function sectionLabel(s: Section): string {
  let label = s.part.join(".");
  if (s.text) label += (label ? "." : "") + s.text;
  if (s.fields) label += ` (${s.fields.join(" ")})`;
  return label;
}
