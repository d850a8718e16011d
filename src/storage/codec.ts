/**
 * How a message is stored: one zstd-compressed container per blob holding the listing data
 * (ENVELOPE, BODYSTRUCTURE, BODY, MIME tree) and the message bytes, where every base64 body
 * part that re-encodes exactly is kept decoded. Spam is mostly base64 attachments (57 % of
 * the bench corpus); stored decoded they compress to what their content allows instead of
 * what base64 text allows: 0.545 → 0.502 of the raw size, and decoding them back is a fast
 * native base64 encode. Parts that would not re-encode byte for byte stay as they are, so a
 * message always comes back exactly as it went in.
 *
 * Container (before compression):
 *   "QM1" 0x00 | u32 meta length | meta JSON (UTF-8) | u32 segment count |
 *   per segment: u8 kind (0 raw, 1 base64) | u32 payload length | [kind 1: u16 line length, u8 ends with CRLF] |
 *   payloads, in order
 * Reading it back concatenates the raw payloads and the re-encoded base64 payloads.
 *
 * A container may also be stored plain: uncompressed, the message in one raw segment. LMTP
 * stores messages so (base64 detection and compression were half the CPU of a delivery) and the
 * background indexer (quarantine/word-index.ts) replaces them with the compact form once
 * deliveries pause. A plain container starts with the magic itself, a compressed one with
 * zstd's frame magic, so readers take either.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import type { MimeNode } from "../mime/index.ts";

export interface StoredMeta {
  envelope: string;
  bodyStructure: string;
  body: string;
  /** JSON of the MIME tree (byte offsets into the message) */
  tree: string;
}

const MAGIC = [0x51, 0x4d, 0x31, 0x00]; // "QM1\0"
const enc = new TextEncoder();
const dec = new TextDecoder();

export function compress(bytes: Uint8Array): Uint8Array {
  return zstdCompressSync(bytes, { params: { [constants.ZSTD_c_compressionLevel]: 3 } });
}

interface Segment {
  kind: 0 | 1;
  payload: Uint8Array;
  lineLength?: number;
  crlfEnd?: boolean;
}

/** The base64 leaf parts of a tree, in message order. */
function base64Parts(node: MimeNode, out: MimeNode[] = []): MimeNode[] {
  if (node.c) for (const c of node.c) base64Parts(c, out);
  else if (node.m) base64Parts(node.m, out);
  else if (node.enc === "base64") out.push(node);
  return out;
}

/** Base64 text of `data` in lines of `lineLength` joined by CRLF (and a final CRLF if asked). */
function base64Lines(data: Uint8Array, lineLength: number, crlfEnd: boolean): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  // slicing the string and joining once is faster here than copying line by line into bytes
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += lineLength) lines.push(b64.slice(i, i + lineLength));
  return lines.join("\r\n") + (crlfEnd && lines.length ? "\r\n" : "");
}

/** Re-encodes decoded bytes exactly as canonical() found them. */
function wrapBase64(data: Uint8Array, lineLength: number, crlfEnd: boolean): Uint8Array {
  const out = Buffer.from(base64Lines(data, lineLength, crlfEnd), "latin1");
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * A base64 body that our re-encoding reproduces exactly: equal line lengths (a multiple of 4),
 * CRLF line ends, standard padding. Returns the decoded bytes and the layout, or null.
 */
function canonical(body: Uint8Array): { data: Uint8Array; lineLength: number; crlfEnd: boolean } | null {
  if (body.length < 64) return null; // not worth a segment
  const firstEnd = body.indexOf(13);
  const lineLength = firstEnd < 0 ? body.length : firstEnd;
  if (lineLength === 0 || lineLength % 4 !== 0 || lineLength > 998) return null;
  const crlfEnd = body[body.length - 2] === 13 && body[body.length - 1] === 10;
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("latin1");
  const data = Buffer.from(text, "base64");
  // the proof: encoding the decoded bytes the same way gives back the very same text
  if (base64Lines(data, lineLength, crlfEnd) !== text) return null;
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), lineLength, crlfEnd };
}

/**
 * Builds the stored form of a (CRLF-normalised) message and its listing data: compact
 * (decoded base64 parts, compressed) by default, plain with `{ compact: false }`.
 */
export function encodeMessage(raw: Uint8Array, root: MimeNode, meta: StoredMeta, opts: { compact?: boolean } = {}): Uint8Array {
  const compact = opts.compact !== false;
  const segments: Segment[] = [];
  let pos = 0;
  for (const part of compact ? base64Parts(root) : []) {
    if (part.he < pos || part.be <= part.he) continue;
    const c = canonical(raw.subarray(part.he, part.be));
    if (!c) continue;
    if (part.he > pos) segments.push({ kind: 0, payload: raw.subarray(pos, part.he) });
    segments.push({ kind: 1, payload: c.data, lineLength: c.lineLength, crlfEnd: c.crlfEnd });
    pos = part.be;
  }
  if (pos < raw.length || segments.length === 0) segments.push({ kind: 0, payload: raw.subarray(pos) });

  const metaBytes = enc.encode(JSON.stringify(meta));
  let size = 4 + 4 + metaBytes.length + 4;
  for (const s of segments) size += 5 + (s.kind === 1 ? 3 : 0) + s.payload.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  buf.set(MAGIC, 0);
  let o = 4;
  view.setUint32(o, metaBytes.length);
  buf.set(metaBytes, (o += 4));
  o += metaBytes.length;
  view.setUint32(o, segments.length);
  o += 4;
  for (const s of segments) {
    buf[o] = s.kind;
    view.setUint32(o + 1, s.payload.length);
    o += 5;
    if (s.kind === 1) {
      view.setUint16(o, s.lineLength!);
      buf[o + 2] = s.crlfEnd ? 1 : 0;
      o += 3;
    }
  }
  for (const s of segments) {
    buf.set(s.payload, o);
    o += s.payload.length;
  }
  return compact ? compress(buf) : buf;
}

/** Whether a stored container is plain (uncompressed, awaiting its compact form). */
export function isPlainContainer(stored: Uint8Array): boolean {
  return MAGIC.every((m, i) => stored[i] === m);
}

function open(stored: ArrayBuffer | Uint8Array): { buf: Uint8Array; view: DataView; metaEnd: number } {
  const bytes = stored instanceof Uint8Array ? stored : new Uint8Array(stored);
  const buf = isPlainContainer(bytes) ? bytes : zstdDecompressSync(bytes);
  if (!MAGIC.every((m, i) => buf[i] === m)) throw new Error("stored message: unknown format");
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { buf, view, metaEnd: 8 + view.getUint32(4) };
}

/** The listing data and the top-level header block of a stored message. */
export function decodeListing(stored: ArrayBuffer | Uint8Array): { meta: StoredMeta; header: Uint8Array } {
  const { buf, view, metaEnd } = open(stored);
  const meta = JSON.parse(dec.decode(buf.subarray(8, metaEnd))) as StoredMeta;
  const he = (JSON.parse(meta.tree) as MimeNode).he;
  // The header block is never base64: it lies in the first raw segment(s).
  const raw = decodeMessageFrom(buf, view, metaEnd, he);
  return { meta, header: raw.subarray(0, he) };
}

/** The message bytes, exactly as ingested. */
export function decodeMessage(stored: ArrayBuffer | Uint8Array): Uint8Array {
  const { buf, view, metaEnd } = open(stored);
  return decodeMessageFrom(buf, view, metaEnd, Infinity);
}

function decodeMessageFrom(buf: Uint8Array, view: DataView, metaEnd: number, limit: number): Uint8Array {
  let o = metaEnd;
  const count = view.getUint32(o);
  o += 4;
  const segs: { kind: number; len: number; lineLength: number; crlfEnd: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    const kind = buf[o];
    const len = view.getUint32(o + 1);
    o += 5;
    let lineLength = 0;
    let crlfEnd = false;
    if (kind === 1) {
      lineLength = view.getUint16(o);
      crlfEnd = buf[o + 2] === 1;
      o += 3;
    }
    segs.push({ kind, len, lineLength, crlfEnd });
  }
  if (segs.length === 1 && segs[0].kind === 0) return buf.subarray(o, o + segs[0].len);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const s of segs) {
    if (total >= limit) break;
    const payload = buf.subarray(o, o + s.len);
    o += s.len;
    const part = s.kind === 0 ? payload : wrapBase64(payload, s.lineLength, s.crlfEnd);
    parts.push(part);
    total += part.length;
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
