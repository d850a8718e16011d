/**
 * Strings in commands and responses.
 *
 *   astring:  INBOX | "Not Spam" | {8}\r\nNot Spam
 *   response: "a \"b\"" | {3}\r\nä… | NIL
 */
import { ProtocolError } from "./errors.ts";
import { decodeText, type Token } from "./tokens.ts";

const enc = new TextEncoder();

/** Atom or string as text (UTF-8). A list is not a string. */
export function astring(tok: Token | undefined): string {
  if (!tok) throw new ProtocolError("Missing argument");
  if (tok.t === "atom") return tok.v;
  if (tok.t === "string") return decodeText(tok.v, 0, tok.v.length, true);
  throw new ProtocolError("Expected a string, got a list");
}

/** Quoted string, or a literal when quoting cannot carry the text (CR, LF, NUL, 8-bit). */
export function quoteString(s: string): string {
  let plain = true;
  let escapes = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0d || c === 0x0a || c >= 0x80) {
      plain = false;
      break;
    }
    if (c === 0x22 || c === 0x5c) escapes = true;
  }
  if (!plain) return `{${enc.encode(s).length}}\r\n${s}`;
  return escapes ? `"${s.replace(/["\\]/g, "\\$&")}"` : `"${s}"`;
}

export function nstring(s: string | null): string {
  return s === null ? "NIL" : quoteString(s);
}

/** ["{n}\r\n", body]: write both; the body is not copied. */
export function literalBytes(b: Uint8Array): Uint8Array[] {
  return [enc.encode(`{${b.length}}\r\n`), b];
}
