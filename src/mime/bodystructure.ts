// BODY / BODYSTRUCTURE serialization, as Dovecot's imap-bodystructure.c writes it.
import { writeEnvelope } from "./envelope.ts";
import { astring, nstringNolf } from "./quote.ts";
import { F_DIGEST, F_MULTIPART, F_RFC822, F_TEXT, type Part } from "./tree.ts";

const EMPTY_BODY = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_BODYSTRUCTURE = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

export function countLines(raw: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let i = raw.indexOf(10, s); i >= 0 && i < e; i = raw.indexOf(10, i + 1)) n++;
  return n;
}

function params(list: [string, string][], defaultCharset: boolean): string {
  if (!defaultCharset && list.length === 0) return "NIL";
  let out = "(";
  let seen = false;
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += " ";
    if (defaultCharset && list[i][0].toLowerCase() === "charset") seen = true;
    out += astring(list[i][0]) + " " + astring(list[i][1]);
  }
  if (defaultCharset && !seen) out += (list.length > 0 ? " " : "") + '"charset" "us-ascii"';
  return out + ")";
}

function common(p: Part): string {
  const d = p.data;
  let out = " ";
  out += d.disposition === null ? "NIL" : "(" + astring(d.disposition) + " " + params(d.dispParams, false) + ")";
  out += " ";
  out += d.language === null ? "NIL" : "(" + d.language.map(astring).join(" ") + ")";
  return out + " " + nstringNolf(d.location);
}

/** Dovecot writes a part whose multipart/rfc822 parsing was cut off (limits) as application/octet-stream */
function truncated(p: Part): boolean {
  const d = p.data;
  if (d.type !== null) {
    const t = d.type.toLowerCase();
    return (t === "message" && d.subtype.toLowerCase() === "rfc822") || t === "multipart";
  }
  return p.parent !== null && (p.parent.flags & F_DIGEST) !== 0;
}

export function isTruncated(p: Part): boolean {
  return (p.flags & (F_MULTIPART | F_RFC822)) === 0 && truncated(p);
}

export function writeBody(raw: Uint8Array, p: Part, ext: boolean): string {
  const d = p.data;
  if ((p.flags & F_MULTIPART) !== 0) {
    let out = "";
    if (p.children.length > 0) for (const c of p.children) out += "(" + writeBody(raw, c, ext) + ")";
    else out += ext ? EMPTY_BODYSTRUCTURE : EMPTY_BODY;
    out += " " + astring(d.subtype);
    if (!ext) return out;
    return out + " " + params(d.params, false) + common(p);
  }
  let out: string;
  let text: boolean;
  if ((p.flags & F_RFC822) !== 0) {
    out = '"message" "rfc822"';
    text = false;
  } else if (truncated(p)) {
    out = '"application" "octet-stream"';
    text = false;
  } else if (d.type === null) {
    out = '"text" "plain"';
    text = true;
  } else {
    out = astring(d.type) + " " + astring(d.subtype);
    text = d.type.toLowerCase() === "text" && (p.flags & F_TEXT) !== 0;
  }
  out += " " + params(d.params, text) + " " + nstringNolf(d.id) + " " + nstringNolf(d.description) + " ";
  out += d.encoding !== null ? astring(d.encoding) : '"7bit"';
  out += " " + (p.be - p.he);
  if (text) out += " " + countLines(raw, p.he, p.be);
  else if ((p.flags & F_RFC822) !== 0) {
    const child = p.children[0];
    out += " (" + writeEnvelope(child.env) + ") (" + writeBody(raw, child, ext) + ") " + countLines(raw, p.he, p.be);
  }
  if (!ext) return out;
  return out + " " + nstringNolf(d.md5) + common(p);
}
