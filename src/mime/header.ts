// Header block parsing on bytes, following Dovecot's message-header-parser
// (SKIP_INITIAL_LWSP | DROP_CR): folded lines are joined with "\n", the first line's leading
// blanks after ':' are dropped, NUL bytes are kept (callers replace them).
import { bin } from "./bytes.ts";

export interface HeaderField {
  name: string; // lower case, "" for a line without ':'
  start: number; // offset of the first byte of the field
  end: number; // offset just past the field's last line break (or end of data)
  vs: number; // value start (first line, after ':' and blanks)
}

const LF = 10, CR = 13, SP = 32, TAB = 9, COLON = 58;

/** Lower-case field name of the line starting at `s` (ending before `colon`), trailing blanks trimmed. */
function fieldName(raw: Uint8Array, s: number, colon: number): string {
  let e = colon;
  while (e > s && (raw[e - 1] === SP || raw[e - 1] === TAB)) e--;
  if (e - s > 1000) return "";
  let out = "";
  for (let i = s; i < e; i++) {
    const c = raw[i];
    out += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return out;
}

/** end of the line starting at p: offset just past its LF, or `end` */
export function lineEnd(raw: Uint8Array, p: number, end: number): number {
  const i = raw.indexOf(LF, p);
  return i < 0 || i >= end ? end : i + 1;
}

/** Is the line at p empty (CRLF or LF)? */
export function isBlankLine(raw: Uint8Array, p: number, end: number): boolean {
  return p < end && (raw[p] === LF || (raw[p] === CR && p + 1 < end && raw[p + 1] === LF));
}

/** Where the field starting at line p ends: its first line, the whole field (continuation lines included), and the first line's ':' (-1 if none). */
function fieldSpan(raw: Uint8Array, p: number, end: number): { lineEnd: number; end: number; colon: number } {
  const first = lineEnd(raw, p, end);
  let colon = -1;
  for (let i = p; i < first; i++) {
    const c = raw[i];
    if (c > COLON) continue;
    if (c === COLON) {
      colon = i;
      break;
    }
    if (c === LF) break;
  }
  let le = first;
  while (le < end && (raw[le] === SP || raw[le] === TAB) && raw[le - 1] === LF) le = lineEnd(raw, le, end);
  return { lineEnd: first, end: le, colon };
}

/** Parse one field starting at line start p (not blank). */
export function readField(raw: Uint8Array, p: number, end: number): HeaderField {
  const { lineEnd: le, end: fieldEnd, colon } = fieldSpan(raw, p, end);
  let name = "", vs = p;
  if (colon >= 0) {
    name = fieldName(raw, p, colon);
    if (name === "" && colon - p > 1000) vs = p;
    else {
      let contentEnd = le;
      if (contentEnd > p && raw[contentEnd - 1] === LF) contentEnd--;
      if (contentEnd > p && raw[contentEnd - 1] === CR) contentEnd--;
      let v = colon + 1;
      while (v < contentEnd && (raw[v] === SP || raw[v] === TAB)) v++;
      if (v === contentEnd && colon + 1 < contentEnd) v = colon + 2; // all blanks: skip just one
      vs = v;
    }
  }
  return { name, start: p, end: fieldEnd, vs };
}

/** Full (unfolded-with-"\n") value of a field as a binary string, like Dovecot's full_value with DROP_CR. */
export function fieldValue(raw: Uint8Array, f: HeaderField): string {
  let s = f.vs;
  let out = "";
  for (;;) {
    const le = lineEnd(raw, s, f.end);
    let ce = le;
    const hadLf = ce > s && raw[ce - 1] === LF;
    if (hadLf) ce--;
    if (hadLf && ce > s && raw[ce - 1] === CR) ce--;
    out += bin(raw, s, ce);
    if (le >= f.end) break;
    out += "\n";
    s = le;
  }
  return out;
}

/**
 * Where the fields of a header block [s, e) are, without reading their names: start, end
 * (continuation lines included) and the first line's colon (-1 for a line without one).
 */
export function parseFieldBounds(raw: Uint8Array, s: number, e: number): { start: number; end: number; colon: number }[] {
  const out: { start: number; end: number; colon: number }[] = [];
  for (let p = s; p < e && !isBlankLine(raw, p, e); ) {
    const f = fieldSpan(raw, p, e);
    out.push({ start: p, end: f.end, colon: f.colon });
    p = f.end;
  }
  return out;
}
