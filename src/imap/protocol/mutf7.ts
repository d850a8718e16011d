/**
 * Modified UTF-7 for mailbox names (RFC 3501 §5.1.3).
 *
 *   "Entwürfe" ↔ "Entw&APw-rfe"     "&" ↔ "&-"     "日本語" ↔ "&ZeVnLIqe-"
 *
 * Printable ASCII stands for itself; everything else is UTF-16BE in base64 with "," for "/",
 * no padding, between "&" and "-". Decoding is strict (as Dovecot is), so that every name has
 * exactly one spelling: a lax decoder would let two spellings reach the same folder.
 */
import { ProtocolError } from "./errors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

function printable(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

export function encodeMutf7(s: string): string {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x26) {
      out += "&-";
      i++;
    } else if (printable(c)) {
      let j = i + 1;
      while (j < s.length && printable(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x26) j++;
      out += s.slice(i, j);
      i = j;
    } else {
      let j = i + 1;
      while (j < s.length && !printable(s.charCodeAt(j))) j++;
      out += "&" + base64Utf16(s.slice(i, j)) + "-";
      i = j;
    }
  }
  return out;
}

function base64Utf16(s: string): string {
  let out = "";
  let bits = 0, acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc = (acc << 16) | s.charCodeAt(i);
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 63];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 63];
  return out;
}

export function decodeMutf7(s: string): string {
  let out = "";
  let i = 0;
  let lastEncodedEnd = -1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!printable(c)) throw new ProtocolError("Invalid mailbox name: 8-bit or control character");
    if (c !== 0x26) {
      out += s[i++];
      continue;
    }
    const end = s.indexOf("-", i + 1);
    if (end < 0) throw new ProtocolError("Invalid mailbox name: unterminated &");
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    // "&AAA-&BBB-" must have been written as one run.
    if (lastEncodedEnd === i) throw new ProtocolError("Invalid mailbox name: adjacent encoded runs");
    out += decodeRun(s.slice(i + 1, end));
    i = end + 1;
    lastEncodedEnd = i;
  }
  return out;
}

function decodeRun(b64: string): string {
  let bits = 0, acc = 0;
  const units: number[] = [];
  for (let i = 0; i < b64.length; i++) {
    const code = b64.charCodeAt(i);
    const v = code < 128 ? VALUE[code] : -1;
    if (v < 0) throw new ProtocolError("Invalid mailbox name: bad base64");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 16) {
      bits -= 16;
      units.push((acc >> bits) & 0xffff);
      acc &= (1 << bits) - 1;
    }
  }
  // Leftover must be fewer than 6 zero bits; otherwise the run was truncated or padded.
  if (bits >= 6 || acc !== 0) throw new ProtocolError("Invalid mailbox name: bad base64 length");
  let out = "";
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (printable(u)) throw new ProtocolError("Invalid mailbox name: encoded ASCII");
    if (u >= 0xd800 && u <= 0xdbff) {
      const lo = units[i + 1];
      if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) throw new ProtocolError("Invalid mailbox name: broken surrogate");
      out += String.fromCharCode(u, lo);
      i++;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      throw new ProtocolError("Invalid mailbox name: broken surrogate");
    } else {
      out += String.fromCharCode(u);
    }
  }
  return out;
}
