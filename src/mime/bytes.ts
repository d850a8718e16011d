// Byte helpers. Header parsing works on "binary strings" (one char per byte, 0-255) so that string
// offsets equal byte offsets and 8-bit bytes survive untouched until we decide how to emit them.

const utf8 = new TextDecoder("utf-8");
const utf8Fatal = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** bytes [s, e) as a binary string */
export function bin(raw: Uint8Array, s: number, e: number): string {
  if (e - s <= 4096) return String.fromCharCode.apply(null, raw.subarray(s, e) as unknown as number[]);
  let out = "";
  for (let i = s; i < e; i += 4096) {
    out += String.fromCharCode.apply(null, raw.subarray(i, Math.min(e, i + 4096)) as unknown as number[]);
  }
  return out;
}

export function binToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function has8bit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return true;
  return false;
}

/** binary string holding UTF-8 (maybe invalid) → JS string (invalid sequences → U+FFFD) */
export function binToUtf8(s: string): string {
  return has8bit(s) ? utf8.decode(binToBytes(s)) : s;
}

/** make a binary string valid UTF-8 (invalid sequences → U+FFFD, re-encoded) */
export function binFixUtf8(s: string): string {
  if (!has8bit(s)) return s;
  const b = binToBytes(s);
  try {
    utf8Fatal.decode(b);
    return s;
  } catch {
    const e = enc.encode(utf8.decode(b));
    return bin(e, 0, e.length);
  }
}

export function utf8Decode(raw: Uint8Array, s = 0, e = raw.length): string {
  return utf8.decode(raw.subarray(s, e));
}

export function utf8Encode(s: string): Uint8Array {
  return enc.encode(s);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Dovecot sends NULs in BODY[] literals as 0x80 */
export function nulTo80(b: Uint8Array): Uint8Array {
  if (b.indexOf(0) < 0) return b;
  const c = b.slice();
  for (let i = 0; i < c.length; i++) if (c[i] === 0) c[i] = 0x80;
  return c;
}
