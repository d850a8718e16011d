/**
 * Tokenizer for one complete command (all its lines and literals).
 *
 *   a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>) (CHANGEDSINCE 5)
 *   a2 APPEND Drafts (\Seen) {11}\r\nhello world\r\n
 *
 * The reader hands over `segs`: even indexes are lines without CRLF (each but the last ends in a
 * literal announcement `{n}`, `{n+}` or `~{n}`), odd indexes are the literal bytes.
 * Fetch attributes keep their bracketed section in one atom ("BODY[HEADER.FIELDS (A B)]<0.10>")
 * so that parseFetchItems sees the item exactly as written.
 */
import { ProtocolError } from "./errors.ts";

export type Token =
  | { t: "atom"; v: string }
  | { t: "string"; v: Uint8Array; literal: boolean }
  | { t: "list"; v: Token[] };

export const SP = 0x20, CR = 0x0d, LF = 0x0a, DQUOTE = 0x22, BACKSLASH = 0x5c;
const LPAREN = 0x28, RPAREN = 0x29, LBRACE = 0x7b, RBRACE = 0x7d, TILDE = 0x7e;
const LBRACKET = 0x5b, RBRACKET = 0x5d;

const utf8 = new TextDecoder("utf-8");
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Bytes → string; plain ASCII (the common case) skips TextDecoder. */
export function decodeText(b: Uint8Array, start = 0, end = b.length, strict = false): string {
  if (end - start <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) if (b[i] >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  }
  try {
    return (strict ? utf8Strict : utf8).decode(b.subarray(start, end));
  } catch {
    throw new ProtocolError("Invalid UTF-8");
  }
}

/**
 * Tag = 1*<ASTRING-CHAR except "+">. Returns null when the line has no valid tag.
 * needSpace: the line is a fragment, so a tag counts only when a SP ends it.
 */
export function peekTag(line: Uint8Array, needSpace = false): string | null {
  let i = 0;
  for (; i < line.length && line[i] !== SP && i <= 128; i++) {
    const c = line[i];
    if (c <= 0x20 || c >= 0x7f || c === 0x2b || c === 0x2a || c === LPAREN || c === RPAREN ||
      c === LBRACE || c === 0x25 || c === DQUOTE || c === BACKSLASH) return null;
  }
  // Real tags are short; a cap keeps error replies for garbage lines small.
  if (i === 0 || i > 128 || (needSpace && i === line.length)) return null;
  return decodeText(line, 0, i);
}

/** Fetch attribute names whose "[...]" may hold spaces and parentheses. */
const SECTION_ATOMS = new Set(["BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"]);

function sectionOpener(b: Uint8Array, start: number, i: number): boolean {
  const len = i - start;
  if (len < 4 || len > 11) return false;
  return SECTION_ATOMS.has(decodeText(b, start, i).toUpperCase());
}

/** End of the atom starting at `i`. Atoms stop at SP ( ) { " and controls, except inside a section "[...]". */
function scanAtom(b: Uint8Array, i: number): number {
  const start = i;
  for (; i < b.length; i++) {
    const c = b[i];
    if (c === SP || c === LPAREN || c === RPAREN || c === LBRACE || c === DQUOTE) break;
    if (c < 0x20 || c === 0x7f) throw new ProtocolError("Invalid character in atom");
    if (c === LBRACKET && sectionOpener(b, start, i)) {
      // A section runs to its "]"; quoted field names inside are skipped whole.
      for (i++; i < b.length && b[i] !== RBRACKET; i++) {
        if (b[i] === DQUOTE) i = quotedEnd(b, i) - 1;
        else if (b[i] < 0x20) throw new ProtocolError("Invalid character in section");
      }
      if (i >= b.length) throw new ProtocolError("Unterminated section");
    }
  }
  return i;
}

/** Index just past the closing quote of the quoted string opened at `i`. */
function quotedEnd(b: Uint8Array, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) i++;
    else if (c === CR || c === LF || c === 0) break;
  }
  throw new ProtocolError("Unterminated quoted string");
}

function readQuoted(b: Uint8Array, i: number): [Uint8Array, number] {
  const end = quotedEnd(b, i);
  const body = b.subarray(i + 1, end - 1);
  if (body.indexOf(BACKSLASH) < 0) return [body, end];
  const out = new Uint8Array(body.length);
  let n = 0;
  for (let j = 0; j < body.length; j++) {
    let c = body[j];
    if (c === BACKSLASH) {
      c = body[++j];
      // RFC 3501 quoted-specials only; anything else is a client bug worth rejecting.
      if (c !== DQUOTE && c !== BACKSLASH) throw new ProtocolError("Invalid escape in quoted string");
    }
    out[n++] = c;
  }
  return [out.subarray(0, n), end];
}

/** Tokenize `segs` from byte `start` of the first line. */
export function tokenize(segs: Uint8Array[], start: number, maxDepth: number): Token[] {
  const stack: Token[][] = [];
  let out: Token[] = [];
  for (let si = 0; si < segs.length; si += 2) {
    const b = segs[si];
    let i = si === 0 ? start : 0;
    while (i < b.length) {
      const c = b[i];
      if (c === SP) { i++; continue; }
      if (c === LPAREN) {
        if (stack.length >= maxDepth) throw new ProtocolError("Too deeply nested");
        const list: Token[] = [];
        out.push({ t: "list", v: list });
        stack.push(out);
        out = list;
        i++;
      } else if (c === RPAREN) {
        const up = stack.pop();
        if (!up) throw new ProtocolError("Unexpected )");
        out = up;
        i++;
      } else if (c === DQUOTE) {
        const [v, next] = readQuoted(b, i);
        out.push({ t: "string", v, literal: false });
        i = next;
      } else if (c === LBRACE || (c === TILDE && b[i + 1] === LBRACE)) {
        // Only valid as the announcement that ends this line; the reader already checked its form.
        if (b[b.length - 1] !== RBRACE || si + 1 >= segs.length || b.indexOf(RBRACE, i) !== b.length - 1) {
          throw new ProtocolError("Invalid literal");
        }
        out.push({ t: "string", v: segs[si + 1], literal: true });
        i = b.length;
      } else {
        const end = scanAtom(b, i);
        out.push({ t: "atom", v: decodeText(b, i, end) });
        i = end;
      }
    }
  }
  if (stack.length) throw new ProtocolError("Missing )");
  return out;
}

export interface ParsedCommand { tag: string; name: string; args: Token[]; uid?: boolean }

const UID_COMMANDS = new Set(["FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE", "SORT", "THREAD"]);

/** Parse a whole command: tag, name ("UID X" → name X, uid), arguments. Throws ProtocolError. */
export function parseCommand(segs: Uint8Array[], maxDepth: number): ParsedCommand {
  const first = segs[0];
  const tag = peekTag(first);
  if (tag === null) throw new ProtocolError(first.length ? "Invalid tag" : "Empty command");
  const all = tokenize(segs, tag.length, maxDepth);
  const nameTok = all[0];
  if (!nameTok || nameTok.t !== "atom") throw new ProtocolError("Missing command");
  let name = nameTok.v.toUpperCase();
  let args = all.slice(1);
  if (name === "UID") {
    const sub = args[0];
    if (!sub || sub.t !== "atom" || !UID_COMMANDS.has(sub.v.toUpperCase())) {
      throw new ProtocolError("Unknown UID command");
    }
    name = sub.v.toUpperCase();
    args = args.slice(1);
    return { tag, name, args, uid: true };
  }
  return { tag, name, args };
}

/** Parse "{123}", "{123+}" or "~{123}" at the end of a line; null when there is none. n = Infinity if absurdly long. */
export function literalSuffix(line: Uint8Array): { n: number; plus: boolean } | null {
  let i = line.length - 1;
  if (i < 2 || line[i] !== RBRACE) return null;
  i--;
  const plus = line[i] === 0x2b;
  if (plus) i--;
  const digitsEnd = i + 1;
  while (i >= 0 && line[i] >= 0x30 && line[i] <= 0x39) i--;
  if (i < 0 || line[i] !== LBRACE || i + 1 === digitsEnd) return null;
  const digits = digitsEnd - (i + 1);
  let n = Infinity;
  if (digits <= 12) {
    n = 0;
    for (let j = i + 1; j < digitsEnd; j++) n = n * 10 + (line[j] - 0x30);
  }
  return { n, plus };
}
