// IMAP string writers, ported from Dovecot's imap-quote.c. Input and output are binary strings;
// literal contents are made valid UTF-8 (see README: raw non-UTF-8 header bytes become U+FFFD).
import { binFixUtf8 } from "./bytes.ts";

function literal(s: string): string {
  const v = binFixUtf8(s);
  return `{${v.length}}\r\n${v}`;
}

function quoted(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c >= 0x80) continue;
    if (c === 34 || c === 92) out += "\\";
    out += s[i];
  }
  return out + '"';
}

export function nstring(s: string | null): string {
  if (s === null) return "NIL";
  let esc = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 34 || c === 92) {
      if (esc++ < 4) continue;
      return literal(s);
    }
    if (c === 13 || c === 10 || c >= 0x80) return literal(s);
    if (c === 0) return quoted(s.slice(0, i)); // C string ends at NUL
  }
  return quoted(s);
}

export const astring = (s: string) => nstring(s);

export function nstringNolf(s: string | null): string {
  if (s === null || !/[\r\n]/.test(s)) return nstring(s);
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\r" && c !== "\n") out += c;
    else {
      const n = s[i + 1];
      if (n !== undefined && n !== " " && n !== "\t" && n !== "\r" && n !== "\n") out += " ";
    }
  }
  return nstring(out);
}

/** imap_append_string_for_humans: whitespace collapsed, sent as a literal when anything changed */
export function forHumans(src: string): string {
  const size = src.length;
  let removeCount = 0, wsPrefix = true, lastLwsp = true, modify = false;
  let i = 0;
  for (; i < size; i++) {
    const c = src.charCodeAt(i);
    if (c === 0) {
      lastLwsp = false;
      modify = true;
    } else if (c === 13 || c === 10 || c === 9 || c === 32) {
      if (c !== 32) modify = true;
      if (lastLwsp) {
        modify = true;
        removeCount++;
      }
      lastLwsp = true;
    } else if (c === 34 || c === 92) {
      modify = true;
      lastLwsp = false;
    } else {
      if (c & 0x80) modify = true;
      lastLwsp = false;
    }
    if (!lastLwsp) wsPrefix = false;
  }
  if (lastLwsp && i > 0 && !wsPrefix) {
    modify = true;
    removeCount++;
  }
  if (!modify) return '"' + src + '"';
  if (size === removeCount) return '""';
  let out = "";
  lastLwsp = true;
  wsPrefix = true;
  for (i = 0; i < size; i++) {
    const c = src.charCodeAt(i);
    if (c === 0) {
      out += "\x80";
      lastLwsp = false;
    } else if (c === 13 || c === 10 || c === 9 || c === 32) {
      if (!lastLwsp) out += " ";
      lastLwsp = true;
    } else {
      lastLwsp = false;
      out += src[i];
    }
    if (!lastLwsp) wsPrefix = false;
  }
  if (lastLwsp && i > 0 && !wsPrefix) out = out.slice(0, -1);
  return literal(out);
}
