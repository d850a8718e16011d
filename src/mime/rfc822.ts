// Port of Dovecot's lib-mail rfc822-parser.c and rfc2231-parser.c, on binary strings.
// Return values follow the C code: 1 = more data follows, 0 = end of input, -1 = error.

// atext table: 1 atext, 2 alpha/digit/8-bit, 4 atext that is a MIME tspecial
const ATEXT = new Uint8Array(256);
{
  const row = (base: number, v: number[]) => v.forEach((x, i) => (ATEXT[base + i] = x));
  row(32, [0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 4]);
  row(48, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 4, 0, 4]);
  row(64, [0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  row(80, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 1, 1]);
  row(96, [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  row(112, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 0]);
  for (let i = 128; i < 256; i++) ATEXT[i] = 2;
}
export const isAtext = (c: number) => ATEXT[c] !== 0;
const isTokenChar = (c: number) => (ATEXT[c] & 3) !== 0;

export const NUL_REPLACEMENT = "\xef\xbf\xbd"; // U+FFFD as UTF-8 bytes

export class Rfc822Parser {
  p = 0;
  end: number;
  lastComment: string | null;
  nulRepl: string | null = null;
  constructor(public s: string, wantComment = false) {
    this.end = s.length;
    this.lastComment = wantComment ? "" : null;
  }
  c(): number {
    return this.p < this.end ? this.s.charCodeAt(this.p) : -1;
  }

  skipComment(): number {
    let level = 1;
    if (this.lastComment !== null) this.lastComment = "";
    const s = this.s;
    let start = ++this.p;
    for (; this.p < this.end; this.p++) {
      const ch = s.charCodeAt(this.p);
      if (ch === 0) {
        if (this.lastComment !== null && this.nulRepl !== null) {
          this.lastComment += s.slice(start, this.p) + this.nulRepl;
          start = this.p + 1;
        }
      } else if (ch === 40) level++;
      else if (ch === 41) {
        if (--level === 0) {
          if (this.lastComment !== null) this.lastComment += s.slice(start, this.p);
          this.p++;
          return this.p < this.end ? 1 : 0;
        }
      } else if (ch === 10) {
        if (this.lastComment === null) continue;
        let e = this.p;
        if (e > start && s.charCodeAt(e - 1) === 13) e--;
        this.lastComment += s.slice(start, e);
        start = this.p + 1;
      } else if (ch === 92) {
        this.p++;
        if (this.p >= this.end) return -1;
        const n = s.charCodeAt(this.p);
        if (n === 13 || n === 10 || n === 0) {
          this.p--;
          continue;
        }
        if (this.lastComment !== null) this.lastComment += s.slice(start, this.p - 1);
        start = this.p;
      }
    }
    return -1;
  }

  skipLwsp(): number {
    while (this.p < this.end) {
      const ch = this.s.charCodeAt(this.p);
      if (ch === 32 || ch === 9 || ch === 13 || ch === 10) {
        this.p++;
        continue;
      }
      if (ch !== 40) break;
      if (this.skipComment() < 0) return -1;
    }
    return this.p < this.end ? 1 : 0;
  }

  /** returns [ret, text] */
  atom(): [number, string] {
    if (this.p >= this.end || !isAtext(this.s.charCodeAt(this.p))) return [-1, ""];
    const start = this.p++;
    while (this.p < this.end && isAtext(this.s.charCodeAt(this.p))) this.p++;
    const t = this.s.slice(start, this.p);
    if (this.p < this.end) return [this.skipLwsp(), t];
    return [0, t];
  }

  dotAtom(): [number, string] {
    if (this.p >= this.end || !isAtext(this.s.charCodeAt(this.p))) return [-1, ""];
    let out = "";
    let start = this.p++;
    while (this.p < this.end) {
      if (isAtext(this.s.charCodeAt(this.p))) {
        this.p++;
        continue;
      }
      if (start === this.p) return [-1, out];
      out += this.s.slice(start, this.p);
      const r = this.skipLwsp();
      if (r <= 0) return [r, out];
      if (this.s.charCodeAt(this.p) !== 46) return [1, out];
      this.p++;
      out += ".";
      if (this.skipLwsp() <= 0) return [-1, out];
      start = this.p;
    }
    out += this.s.slice(start, this.p);
    return [0, out];
  }

  mimeToken(): [number, string] {
    const start = this.p;
    while (this.p < this.end) {
      const ch = this.s.charCodeAt(this.p);
      if (isTokenChar(ch) || ch === 46) {
        this.p++;
        continue;
      }
      const t = this.s.slice(start, this.p);
      return [this.skipLwsp(), t];
    }
    return [0, this.s.slice(start, this.p)];
  }

  quotedString(): [number, string] {
    const s = this.s;
    let out = "";
    this.p++;
    let start = this.p;
    for (; this.p < this.end; this.p++) {
      const ch = s.charCodeAt(this.p);
      if (ch === 0) {
        if (this.nulRepl !== null) {
          out += s.slice(start, this.p) + this.nulRepl;
          start = this.p + 1;
        }
      } else if (ch === 34) {
        out += s.slice(start, this.p);
        this.p++;
        return [this.skipLwsp(), out];
      } else if (ch === 10) {
        let e = this.p;
        if (e > start && s.charCodeAt(e - 1) === 13) e--;
        out += s.slice(start, e);
        start = this.p + 1;
      } else if (ch === 92) {
        this.p++;
        if (this.p >= this.end) return [-1, out];
        const n = s.charCodeAt(this.p);
        if (n === 13 || n === 10 || n === 0) {
          this.p--;
          continue;
        }
        out += s.slice(start, this.p - 1);
        start = this.p;
      }
    }
    return [-1, out];
  }

  private atomOrDot(): [number, string] {
    const start = this.p;
    while (this.p < this.end) {
      const ch = this.s.charCodeAt(this.p);
      if (isAtext(ch) || ch === 46) {
        this.p++;
        continue;
      }
      const t = this.s.slice(start, this.p);
      return [this.skipLwsp(), t];
    }
    return [0, this.s.slice(start, this.p)];
  }

  /** phrase; appends to `out` (returned) */
  phrase(out: string): [number, string] {
    if (this.p >= this.end) return [0, out];
    if (this.s.charCodeAt(this.p) === 46) return [-1, out];
    for (;;) {
      const [r, t] = this.s.charCodeAt(this.p) === 34 ? this.quotedString() : this.atomOrDot();
      out += t;
      if (r <= 0) return [r, out];
      const ch = this.s.charCodeAt(this.p);
      if (!isAtext(ch) && ch !== 34 && ch !== 46) break;
      out += " ";
    }
    return [this.skipLwsp(), out];
  }

  private domainLiteral(): [number, string] {
    const s = this.s;
    let out = "";
    let start = this.p++;
    for (; this.p < this.end; this.p++) {
      const ch = s.charCodeAt(this.p);
      if (ch === 0) {
        if (this.nulRepl !== null) {
          out += s.slice(start, this.p) + this.nulRepl;
          start = this.p + 1;
        }
      } else if (ch === 91) return [-1, out];
      else if (ch === 93) {
        out += s.slice(start, this.p + 1);
        this.p++;
        return [this.skipLwsp(), out];
      } else if (ch === 10) {
        let e = this.p;
        if (e > start && s.charCodeAt(e - 1) === 13) e--;
        out += s.slice(start, e);
        start = this.p + 1;
      } else if (ch === 92) {
        this.p++;
        if (this.p >= this.end) return [-1, out];
        const n = s.charCodeAt(this.p);
        if (n === 13 || n === 10 || n === 0) {
          out += s.slice(start, this.p);
          start = this.p;
          this.p--;
        }
      }
    }
    return [-1, out];
  }

  /** at '@' */
  domain(): [number, string] {
    this.p++;
    if (this.skipLwsp() <= 0) return [-1, ""];
    if (this.s.charCodeAt(this.p) === 91) return this.domainLiteral();
    return this.dotAtom();
  }

  /** "type/subtype" → [ret, "type/subtype" or partial] */
  contentType(): [number, string] {
    if (this.skipLwsp() <= 0) return [-1, ""];
    const [r1, t] = this.mimeToken();
    if (r1 <= 0 || t === "") return [-1, t];
    if (this.s.charCodeAt(this.p) !== 47) return [-1, ""];
    this.p++;
    if (this.skipLwsp() <= 0) return [-1, ""];
    const [r2, st] = this.mimeToken();
    if (r2 < 0 || st === "" || (this.p !== this.end && this.s.charCodeAt(this.p) !== 59)) return [-1, ""];
    return [r2, t + "/" + st];
  }

  /** one ";key=value"; [ret, key|null, value] */
  contentParam(): [number, string | null, string] {
    if (this.p >= this.end) return [0, null, ""];
    if (this.s.charCodeAt(this.p) !== 59) return [-1, null, ""];
    this.p++;
    if (this.skipLwsp() <= 0) return [-1, null, ""];
    const [rk, key] = this.mimeToken();
    if (rk <= 0) return [-1, null, ""];
    if (this.s.charCodeAt(this.p) !== 61) return [-1, null, ""];
    this.p++;
    let ret = this.skipLwsp();
    let value = "";
    if (ret <= 0) {
      // broken / no value
    } else if (this.s.charCodeAt(this.p) === 34) {
      [ret, value] = this.quotedString();
    } else if (this.s.charCodeAt(this.p) === 61) {
      // workaround for name==?utf-8?b?...?=
      const start = this.p;
      while (this.p < this.end) {
        const ch = this.s.charCodeAt(this.p);
        if (ch === 59 || ch === 32 || ch === 9 || ch === 13 || ch === 10) break;
        this.p++;
      }
      value = this.s.slice(start, this.p);
    } else {
      [ret, value] = this.mimeToken();
    }
    return [ret < 0 ? -1 : 1, key, value];
  }
}

/** RFC 2231 parameter list, merged like Dovecot's rfc2231_parse(): [name, value] pairs. */
export function rfc2231Parse(ctx: Rfc822Parser): [string, string][] {
  const result: [string, string][] = [];
  const ext: { key: string; value: string; idx: number; extended: boolean }[] = [];
  const prevNul = ctx.nulRepl;
  ctx.nulRepl = NUL_REPLACEMENT;
  let idx = 0; // deliberately not reset between parameters (as in Dovecot)
  for (;;) {
    const [ret, key, value] = ctx.contentParam();
    if (ret === 0) break;
    if (ret < 0) {
      if (ctx.p >= ctx.end) break;
      ctx.p++;
      continue;
    }
    const k = key as string;
    const star = k.indexOf("*");
    let plain = true;
    if (star >= 0) {
      let p = star;
      if (p + 1 < k.length) {
        p++;
        idx = 0;
        while (p < k.length && k.charCodeAt(p) >= 48 && k.charCodeAt(p) <= 57) idx = idx * 10 + k.charCodeAt(p++) - 48;
      }
      let extended = false;
      if (k[p] === "*") {
        extended = true;
        p++;
      }
      if (p === k.length) {
        ext.push({ key: k.slice(0, star), value, idx, extended });
        plain = false;
      }
    }
    if (plain) result.push([k, value]);
  }
  ctx.nulRepl = prevNul;
  if (ext.length === 0) return result;
  // C strcmp ordering on (key, idx); stable sort
  ext.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.idx - b.idx));
  for (let i = 0; i < ext.length; ) {
    let ok = true, haveExt = false, nextIdx = 0, j = i;
    for (; j < ext.length; j++) {
      if (ext[i].key.toLowerCase() !== ext[j].key.toLowerCase()) break;
      if (ext[j].idx !== nextIdx) ok = false;
      if (ext[j].extended) haveExt = true;
      nextIdx++;
    }
    if (!ok) {
      for (let m = i; m < j; m++) {
        result.push([`${ext[m].key}*${ext[m].idx}${ext[m].extended ? "*" : ""}`, ext[m].value]);
      }
    } else {
      let v = !ext[i].extended && haveExt ? "''" : "";
      for (let m = i; m < j; m++) {
        v += !ext[m].extended && haveExt ? ext[m].value.replace(/%/g, "%25") : ext[m].value;
      }
      result.push([haveExt ? ext[i].key + "*" : ext[i].key, v]);
    }
    i = j;
  }
  return result;
}
