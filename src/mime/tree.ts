// MIME tree builder: a byte-level re-implementation of Dovecot's message-parser.c state machine
// (boundary prefix matching, the CRLF before a boundary belonging to the boundary, headers cut short
// by a boundary, multipart/digest defaults, nesting limit 100, part limit 10000).
import { bin } from "./bytes.ts";
import { type Envelope, envelopeAdd, isEnvelopeField, newEnvelope } from "./envelope.ts";
import { fieldValue, type HeaderField, isBlankLine, lineEnd, readField } from "./header.ts";
import { Rfc822Parser, rfc2231Parse } from "./rfc822.ts";

export const F_MULTIPART = 1, F_RFC822 = 2, F_TEXT = 4, F_DIGEST = 8, F_IS_MIME = 16, F_OVERFLOW = 32;
const MAX_NESTED = 100, MAX_TOTAL = 10000, BOUNDARY_MAX = 80;

/** Content-* data of a part (binary strings, case as written), like Dovecot's message_part_data */
export interface PartData {
  type: string | null;
  subtype: string;
  params: [string, string][];
  id: string | null;
  description: string | null;
  encoding: string | null;
  md5: string | null;
  disposition: string | null;
  dispParams: [string, string][];
  language: string[] | null;
  location: string | null;
}

export interface Part {
  hs: number;
  he: number;
  be: number;
  flags: number;
  parent: Part | null;
  children: Part[];
  data: PartData;
  env: Envelope | null; // for message roots (top level and inside message/rfc822)
  fields: HeaderField[] | null; // kept for the top-level message only
}

interface Boundary {
  b: Uint8Array;
  part: Part;
  epilogue: boolean;
}

const emptyData = (): PartData => ({
  type: null, subtype: "", params: [], id: null, description: null, encoding: null, md5: null,
  disposition: null, dispParams: [], language: null, location: null,
});

function depth(p: Part): number {
  let d = 0;
  for (let x = p.parent; x !== null; x = x.parent) d++;
  return d;
}

function parseContentType(d: PartData, v: string) {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const [ret, t] = p.contentType();
  const slash = t.indexOf("/");
  d.type = slash >= 0 ? t.slice(0, slash) : t;
  d.subtype = slash >= 0 ? t.slice(slash + 1) : "";
  if (ret < 0) return;
  d.params = rfc2231Parse(p);
}

function parseToken(v: string): string | null {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const [r, t] = p.mimeToken();
  return r >= 0 && p.skipLwsp() === 0 && t.length > 0 ? t : null;
}

function parseDisposition(d: PartData, v: string) {
  const p = new Rfc822Parser(v);
  p.skipLwsp();
  const [r, t] = p.mimeToken();
  if (r < 0) return;
  d.disposition = t;
  d.dispParams = rfc2231Parse(p);
}

function parseLanguage(d: PartData, v: string) {
  const p = new Rfc822Parser(v);
  const langs: string[] = [];
  p.skipLwsp();
  for (;;) {
    const [r, t] = p.atom();
    if (r < 0) break;
    langs.push(t);
    if (p.p >= p.end || p.c() !== 44) break;
    p.p++;
    p.skipLwsp();
  }
  if (langs.length > 0) d.language = langs;
}

const strdup = (v: string) => (v.indexOf("\0") >= 0 ? v.replace(/\0/g, "\xef\xbf\xbd") : v);

/** message_part_data_parse_from_header() for one Content-* field */
function contentHeader(d: PartData, name: string, v: string) {
  switch (name) {
    case "content-id":
      if (d.id === null) d.id = strdup(v);
      break;
    case "content-md5":
      if (d.md5 === null) d.md5 = strdup(v);
      break;
    case "content-type":
      if (d.type === null) parseContentType(d, v);
      break;
    case "content-transfer-encoding":
      if (d.encoding === null) d.encoding = parseToken(v);
      break;
    case "content-language":
      if (d.language === null) parseLanguage(d, v);
      break;
    case "content-location":
      if (d.location === null) d.location = strdup(v);
      break;
    case "content-description":
      if (d.description === null) d.description = strdup(v);
      break;
    case "content-disposition":
      if (d.dispParams.length === 0) parseDisposition(d, v);
      break;
  }
}

export class TreeParser {
  private bounds: Boundary[] = []; // top = last
  private total = 1;
  readonly root: Part;

  constructor(private raw: Uint8Array, private end = raw.length) {
    this.root = this.newPart(null, 0);
    this.root.env = newEnvelope();
    this.root.fields = [];
    this.run();
  }

  private newPart(parent: Part | null, hs: number): Part {
    return { hs, he: hs, be: hs, flags: 0, parent, children: [], data: emptyData(), env: null, fields: null };
  }

  /** boundary_line_find() at line start p */
  private boundaryAt(p: number): Boundary | null {
    const raw = this.raw, end = this.end;
    if (this.bounds.length === 0 || p + 1 >= end || raw[p] !== 45 || raw[p + 1] !== 45) return null;
    if (this.total >= MAX_TOTAL) return null;
    const ds = p + 2;
    const le = raw.indexOf(10, ds);
    let findEnd: number;
    let trailingDashes = false;
    if (le >= 0 && le < end) {
      findEnd = le;
      if (findEnd > ds && raw[findEnd - 1] === 13) findEnd--;
      if (findEnd - ds > 2 && raw[findEnd - 1] === 45 && raw[findEnd - 2] === 45) trailingDashes = true;
    } else findEnd = Math.min(end, ds + BOUNDARY_MAX + 4);
    const len = findEnd - ds;
    let best: Boundary | null = null;
    for (let i = this.bounds.length - 1; i >= 0; i--) {
      const b = this.bounds[i];
      const bl = b.b.length;
      if (bl > len || (best !== null && best.b.length >= bl)) continue;
      let k = 0;
      while (k < bl && raw[ds + k] === b.b[k]) k++;
      if (k !== bl) continue;
      best = b;
      if (bl === len || (bl === len - 2 && trailingDashes)) break;
    }
    if (best === null) return null;
    const q = ds + best.b.length;
    best.epilogue = q + 1 < end && raw[q] === 45 && raw[q + 1] === 45;
    return best;
  }

  /** Parse headers of `part` starting at part.hs; returns the position where the body scan starts. */
  private headers(part: Part): number {
    const raw = this.raw, end = this.end;
    const d = part.data;
    const parentRfc822 = part.parent !== null && (part.parent.flags & F_RFC822) !== 0;
    const env = part.env ?? (parentRfc822 ? (part.env = newEnvelope()) : null);
    let p = part.hs;
    let lastBoundary: string | null = null;
    let seenCT = false;
    let prevNl = 0;
    let multipart = false;
    for (;;) {
      if (p >= end) {
        part.he = end;
        break;
      }
      if (isBlankLine(raw, p, end)) {
        if (lastBoundary !== null && (part.flags & F_IS_MIME) !== 0) {
          if (depth(part) + 1 < MAX_NESTED) {
            const bb = new Uint8Array(lastBoundary.length);
            for (let i = 0; i < bb.length; i++) bb[i] = lastBoundary.charCodeAt(i);
            this.bounds.push({ b: bb, part, epilogue: false });
            multipart = true;
          } else {
            part.flags = (part.flags | F_OVERFLOW) & ~F_MULTIPART;
          }
        }
        part.he = lineEnd(raw, p, end);
        p = part.he;
        break;
      }
      const b = this.boundaryAt(p);
      if (b !== null && b.part !== part) {
        // a boundary ends the header; the preceding line break belongs to the boundary
        part.he = p - prevNl;
        break;
      }
      const f = readField(raw, p, end);
      const n = f.name;
      p = f.end;
      prevNl = raw[p - 1] === 10 ? (p - 2 >= f.start && raw[p - 2] === 13 ? 2 : 1) : 0;
      if (part.fields !== null) part.fields.push(f);
      if (n.length < 2) continue;
      const c0 = n.charCodeAt(0);
      if (c0 === 99 /* c */ && n.startsWith("content-")) {
        const v = fieldValue(raw, f);
        if (n === "content-type") {
          part.flags |= F_IS_MIME;
          if (!seenCT) {
            seenCT = true;
            const cp = new Rfc822Parser(v);
            cp.skipLwsp();
            const [ret, ct] = cp.contentType();
            const lct = ct.toLowerCase();
            if (lct === "message/rfc822") part.flags |= F_RFC822;
            else if (lct.startsWith("text") && (lct.length === 4 || lct[4] === "/")) part.flags |= F_TEXT;
            else if (lct.startsWith("multipart/")) {
              part.flags |= F_MULTIPART;
              if (lct === "multipart/digest") part.flags |= F_DIGEST;
            }
            if (ret >= 0 && (part.flags & F_MULTIPART) !== 0) {
              for (const [k, val] of rfc2231Parse(cp)) {
                if (k.toLowerCase() === "boundary") {
                  lastBoundary = val.slice(0, BOUNDARY_MAX);
                  break;
                }
              }
            }
          }
        }
        contentHeader(d, n, v);
        if (env !== null && isEnvelopeField(n)) envelopeAdd(env, n, v);
      } else {
        if (n === "mime-version") part.flags |= F_IS_MIME;
        if (env !== null && isEnvelopeField(n)) envelopeAdd(env, n, fieldValue(raw, f));
      }
    }
    if ((part.flags & F_IS_MIME) === 0) {
      part.flags = 0;
      part.data = emptyData(); // no MIME-Version and no Content-Type: Content-* are ignored
    }
    if (!seenCT || (part.flags & F_IS_MIME) === 0) {
      if (part.parent !== null && (part.parent.flags & F_DIGEST) !== 0) part.flags |= F_RFC822;
      else part.flags |= F_TEXT;
    }
    if (!multipart && (part.flags & F_RFC822) !== 0) {
      if (!(depth(part) + 1 < MAX_NESTED && this.total < MAX_TOTAL)) {
        part.flags = (part.flags | F_OVERFLOW) & ~F_RFC822;
      }
    }
    return p;
  }

  private run() {
    const raw = this.raw, end = this.end;
    let cur = this.root;
    let pos = this.headers(cur);
    let firstBe = cur.he; // body end to use when a boundary is found on the scan's first line
    for (;;) {
      // message/rfc822: the body is a message of its own
      if ((cur.flags & F_RFC822) !== 0 && cur.children.length === 0 && (cur.flags & F_MULTIPART) === 0) {
        const child = this.newPart(cur, cur.he);
        cur.children.push(child);
        this.total++;
        cur = child;
        pos = this.headers(cur);
        firstBe = cur.he;
        continue;
      }
      if (this.bounds.length === 0) {
        for (let x: Part | null = cur; x !== null; x = x.parent) x.be = end;
        return;
      }
      // scan lines for a boundary
      let found: Boundary | null = null;
      let lineStart = pos;
      let be = firstBe;
      for (;;) {
        if (lineStart >= end) break;
        found = this.boundaryAt(lineStart);
        if (found !== null) break;
        const lf = raw.indexOf(10, lineStart);
        if (lf < 0 || lf >= end) break;
        lineStart = lf + 1;
        be = lf > 0 && raw[lf - 1] === 13 && lf - 1 >= pos ? lf - 1 : lf;
      }
      if (found === null) {
        for (let x: Part | null = cur; x !== null; x = x.parent) x.be = end;
        return;
      }
      // finish parts up to the boundary's owner
      while (cur !== found.part) {
        cur.be = be;
        cur = cur.parent as Part;
      }
      const idx = this.bounds.indexOf(found);
      this.bounds.length = found.epilogue ? idx : idx + 1;
      // skip the rest of the boundary line
      const lf = raw.indexOf(10, lineStart);
      if (lf < 0 || lf >= end) {
        for (let x: Part | null = cur; x !== null; x = x.parent) x.be = end;
        return;
      }
      pos = lf + 1;
      const top = this.bounds[this.bounds.length - 1];
      if (top !== undefined && top.part === cur) {
        const child = this.newPart(cur, pos);
        child.flags |= F_IS_MIME;
        cur.children.push(child);
        this.total++;
        cur = child;
        pos = this.headers(cur);
        firstBe = cur.he;
      } else {
        firstBe = pos; // epilogue of cur
      }
    }
  }
}

export function partFields(raw: Uint8Array, p: Part): HeaderField[] {
  return p.fields ?? [];
}
export { bin };
