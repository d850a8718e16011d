// BODY[section] and BINARY[part] extraction over the stored MIME tree (RFC 3501 6.4.5, Dovecot's imap-msgpart.c).
import { concat, nulTo80 } from "./bytes.ts";
import { decodeBase64, decodeQP } from "./decode.ts";
import { parseFieldBounds } from "./header.ts";
import type { MimeNode } from "./types.ts";

export type SectionSpec = {
  part: number[];
  text?: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  fields?: string[];
};

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
const CRLF = new Uint8Array([13, 10]);

/** imap_msgpart_find(): numbering goes through message/rfc822 into the encapsulated message */
export function findPart(root: MimeNode, part: number[]): MimeNode | null {
  let node: MimeNode | null = root;
  for (let i = 0; i < part.length && node !== null; i++) {
    const num = part[i];
    const more = i + 1 < part.length;
    if (node.c !== undefined) node = node.c[num - 1] ?? null;
    else if (num !== 1 || (more && node.m === undefined)) node = null;
    if (node !== null && node.m !== undefined && more) node = node.m;
  }
  return node;
}

/** Whether the field at [s, colon) is named `want` (lower-case ASCII), ignoring case and trailing blanks. */
function nameIs(block: Uint8Array, s: number, colon: number, want: Uint8Array): boolean {
  let e = colon;
  while (e > s && (block[e - 1] === 32 || block[e - 1] === 9)) e--;
  if (e - s !== want.length) return false;
  for (let i = 0; i < want.length; i++) {
    const c = block[s + i];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== want[i]) return false;
  }
  return true;
}

/** HEADER.FIELDS on a raw header block: matching fields (with folded lines) + the blank line */
export function headerFields(block: Uint8Array, fields: string[], not: boolean): Uint8Array {
  // Names are compared as bytes: a sync asks this of every message, and building each field's
  // name as a string cost half the time.
  const want = fields.map((f) => utf8.encode(f.toLowerCase()));
  const out: Uint8Array[] = [];
  let p = 0;
  for (const f of parseFieldBounds(block, 0, block.length)) {
    p = f.end;
    const named = f.colon >= 0 && f.colon - f.start <= 1000 && want.some((w) => nameIs(block, f.start, f.colon, w));
    if (named === not) continue;
    out.push(block.subarray(f.start, f.end));
    // Dovecot's HEADER.FIELDS comes from its header cache, which always ends lines with CRLF
    if (!not && block[f.end - 1] !== 10) out.push(CRLF);
  }
  // HEADER.FIELDS always ends with the blank line; .NOT only when the message had one (header filter)
  if (!not || p < block.length) out.push(CRLF);
  return concat(out);
}

export function sectionBytes(raw: Uint8Array, root: MimeNode, spec: SectionSpec): Uint8Array {
  let node: MimeNode | null = root;
  const t = spec.text;
  if (spec.part.length > 0) {
    node = findPart(root, spec.part);
    if (node === null) return EMPTY;
    if (t === "MIME") return nulTo80(raw.subarray(node.hs, node.he));
    if (t === undefined) return nulTo80(raw.subarray(node.he, node.be));
    if (node.m === undefined) return EMPTY; // HEADER/TEXT only exist for message/rfc822 parts
    node = node.m;
  } else if (t === "MIME") return EMPTY;
  else if (t === undefined) return nulTo80(raw.subarray(node.hs, node.be));
  if (t === "TEXT") return nulTo80(raw.subarray(node.he, node.be));
  const header = raw.subarray(node.hs, node.he);
  if (t === "HEADER") return nulTo80(header);
  return nulTo80(headerFields(header, spec.fields ?? [], t === "HEADER.FIELDS.NOT"));
}

/** Content-transfer-decoded body of a part; null for an encoding we cannot decode */
export function binaryBytes(raw: Uint8Array, root: MimeNode, part: number[]): Uint8Array | null {
  const node = part.length === 0 ? root : findPart(root, part);
  if (node === null) return EMPTY;
  if (part.length === 0) {
    if (node.c !== undefined || node.m !== undefined) return raw.subarray(node.hs, node.be);
    const body = decodeBody(raw, node);
    return body === null ? null : concat([raw.subarray(node.hs, node.he), body]);
  }
  if (node.c !== undefined || node.m !== undefined) return raw.subarray(node.he, node.be);
  return decodeBody(raw, node);
}

export function decodeBody(raw: Uint8Array, node: MimeNode): Uint8Array | null {
  switch (node.enc) {
    case "7bit":
    case "8bit":
    case "binary":
    case "":
      return raw.subarray(node.he, node.be);
    case "base64":
      return decodeBase64(raw, node.he, node.be);
    case "quoted-printable":
      return decodeQP(raw, node.he, node.be);
    default:
      return null;
  }
}
