// MIME index: parse a message once at ingest into what IMAP needs (see README.md).
import { binToUtf8 } from "./bytes.ts";
import { countLines, isTruncated, writeBody } from "./bodystructure.ts";
import { writeEnvelope } from "./envelope.ts";
import { searchFields } from "./fields.ts";
import { extractText } from "./text.ts";
import { F_MULTIPART, F_RFC822, type Part, TreeParser } from "./tree.ts";
import type { MessageIndex, MimeNode } from "./types.ts";

export type { MessageIndex, MimeNode, SearchFields } from "./types.ts";
export { binaryBytes, headerFields, sectionBytes, type SectionSpec } from "./section.ts";
export { nulTo80 } from "./bytes.ts";
export { decodeWords } from "./decode.ts";
export { parseDate } from "./fields.ts";

/** bare LF and bare CR → CRLF; returns the same array if nothing changes */
export function normalizeCrlf(raw: Uint8Array): Uint8Array {
  let extra = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 13) {
      if (raw[i + 1] === 10) i++;
      else extra++;
    } else if (c === 10) extra++;
  }
  if (extra === 0) return raw;
  const out = new Uint8Array(raw.length + extra);
  let o = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 13) {
      out[o++] = 13;
      out[o++] = 10;
      if (raw[i + 1] === 10) i++;
    } else if (c === 10) {
      out[o++] = 13;
      out[o++] = 10;
    } else out[o++] = c;
  }
  return out;
}

function toNode(p: Part): MimeNode {
  const d = p.data;
  let t: string, s: string;
  if ((p.flags & F_RFC822) !== 0) [t, s] = ["message", "rfc822"];
  else if (isTruncated(p)) [t, s] = ["application", "octet-stream"];
  else if (d.type === null) [t, s] = ["text", "plain"];
  else [t, s] = [d.type.toLowerCase(), d.subtype.toLowerCase()];
  const n: MimeNode = { hs: p.hs, he: p.he, be: p.be, t, s, enc: (d.encoding ?? "7bit").toLowerCase() };
  for (const [k, v] of d.params) {
    if (k.toLowerCase() === "charset") {
      n.cs = binToUtf8(v).toLowerCase();
      break;
    }
  }
  if ((p.flags & F_MULTIPART) !== 0) n.c = p.children.map(toNode);
  else if ((p.flags & F_RFC822) !== 0 && p.children.length > 0) n.m = toNode(p.children[0]);
  return n;
}

function fallback(raw: Uint8Array): MessageIndex {
  const n = raw.length;
  return {
    envelope: "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
    bodyStructure: `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" ${n} ${countLines(raw, 0, n)} NIL NIL NIL NIL)`,
    body: `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" ${n} ${countLines(raw, 0, n)})`,
    root: { hs: 0, he: 0, be: n, t: "text", s: "plain", enc: "7bit" },
    fields: { from: "", to: "", cc: "", bcc: "", subject: "", messageId: "", date: null, dateDay: null },
    text: "",
  };
}

/**
 * Index a CRLF-normalised message. Never throws. `text: false` skips the decoded text (a
 * fifth of the cost) for callers that do not index words now.
 */
export function indexMessage(raw: Uint8Array, opts: { text?: boolean } = {}): MessageIndex {
  try {
    const root = new TreeParser(raw).root;
    const node = toNode(root);
    let text = "";
    try {
      if (opts.text !== false) text = extractText(raw, node);
    } catch {
      text = "";
    }
    return {
      envelope: binToUtf8("(" + writeEnvelope(root.env) + ")"),
      bodyStructure: binToUtf8("(" + writeBody(raw, root, true) + ")"),
      body: binToUtf8("(" + writeBody(raw, root, false) + ")"),
      root: node,
      fields: searchFields(raw, root.fields ?? []),
      text,
    };
  } catch {
    return fallback(raw);
  }
}
