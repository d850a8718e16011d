// Content-transfer decoding, charset conversion and RFC 2047 encoded words.
const B64 = new Int8Array(256).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => (B64[c.charCodeAt(0)] = i));

export function decodeBase64(src: Uint8Array, s = 0, e = src.length): Uint8Array {
  const out = new Uint8Array(Math.ceil(((e - s) * 3) / 4) + 3);
  let o = 0, acc = 0, bits = 0;
  for (let i = s; i < e; i++) {
    const c = src[i];
    if (c === 61) break; // '=' padding ends the data
    const v = B64[c];
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

const hex = (c: number) => (c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1);

/** quoted-printable; `header` = RFC 2047 "Q" rules (_ is space) */
export function decodeQP(src: Uint8Array, s = 0, e = src.length, header = false): Uint8Array {
  const out = new Uint8Array(e - s);
  let o = 0;
  let keep = 0; // output before this index came from =XX and must not be trimmed
  let i = s;
  while (i < e) {
    const c = src[i++];
    if (c === 61) {
      const h1 = i < e ? hex(src[i]) : -1, h2 = i + 1 < e ? hex(src[i + 1]) : -1;
      if (h1 >= 0 && h2 >= 0) {
        out[o++] = (h1 << 4) | h2;
        keep = o;
        i += 2;
        continue;
      }
      // soft line break: "=" [blanks] CRLF
      let j = i;
      while (j < e && (src[j] === 32 || src[j] === 9)) j++;
      if (j < e && src[j] === 13 && j + 1 < e && src[j + 1] === 10) i = j + 2;
      else if (j < e && src[j] === 10) i = j + 1;
      else if (j >= e) break;
      else out[o++] = c;
      continue;
    }
    if ((c === 13 || c === 10) && !header) {
      // trailing blanks before a line end are dropped
      while (o > keep && (out[o - 1] === 32 || out[o - 1] === 9)) o--;
    }
    out[o++] = header && c === 95 ? 32 : c;
  }
  if (!header) while (o > keep && (out[o - 1] === 32 || out[o - 1] === 9)) o--;
  return out.subarray(0, o);
}

const decoders = new Map<string, TextDecoder | null>();
/** bytes in `charset` → string; unknown charsets fall back to UTF-8 */
export function decodeCharset(b: Uint8Array, charset: string): string {
  let cs = charset.toLowerCase().trim();
  const star = cs.indexOf("*");
  if (star >= 0) cs = cs.slice(0, star); // RFC 2231 language suffix
  let d = decoders.get(cs);
  if (d === undefined) {
    try {
      d = new TextDecoder(cs === "" || cs === "us-ascii" ? "utf-8" : cs);
    } catch {
      d = null;
    }
    decoders.set(cs, d);
  }
  return (d ?? decoders.get("utf-8") ?? new TextDecoder()).decode(b);
}

const EW = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

/** RFC 2047 decoding of a header value (JS string); whitespace between adjacent encoded words is dropped */
export function decodeWords(s: string): string {
  if (s.indexOf("=?") < 0) return s;
  let out = "";
  let last = 0;
  let pendCs = "";
  let pend: number[] = [];
  const flush = () => {
    if (pend.length > 0) out += decodeCharset(Uint8Array.from(pend), pendCs);
    pend = [];
  };
  EW.lastIndex = 0;
  for (let m = EW.exec(s); m !== null; m = EW.exec(s)) {
    const between = s.slice(last, m.index);
    const adjacent = last > 0 && /^[ \t\r\n]*$/.test(between) && pend.length > 0;
    if (!adjacent) {
      flush();
      out += between;
    }
    const cs = m[1];
    if (adjacent && cs.toLowerCase() !== pendCs.toLowerCase()) flush();
    pendCs = cs;
    const data = Uint8Array.from(m[3], (c) => c.charCodeAt(0) & 0xff);
    const bytes = m[2] === "b" || m[2] === "B" ? decodeBase64(data) : decodeQP(data, 0, data.length, true);
    for (const x of bytes) pend.push(x);
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}
