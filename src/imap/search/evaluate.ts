/**
 * Evaluates a parsed SEARCH key over the selected view in memory, using the cached facts,
 * this account's flags, the word index built at ingest (BODY, and TEXT's body part) and the
 * cached header blocks (generic HEADER keys, TEXT's header part). Terms without a letter or
 * digit read the stored messages, only for those keys.
 */
import { headerFields } from "../../mime/index.ts";
import { searchText } from "../fetch/listing-cache.ts";
import { flagBit } from "../../quarantine/mailbox.ts";
import { STAR, type SearchKey } from "../protocol/index.ts";
import type { ImapSession } from "../session/session.ts";
import type { SearchFacts } from "./cache.ts";

interface Prepared {
  facts: Map<number, SearchFacts>;
  text: Map<string, Set<number> | null>;
  /** uid → lower-cased header field values, for generic HEADER keys */
  headers: Map<string, Map<number, string>>;
  /** uid → lower-cased raw message, for short TEXT/BODY terms */
  raw?: Map<number, string>;
  /** blob → its whole header block, unfolded and lower-cased (cached), for TEXT */
  headerText: (blobId: number) => string;
}

/** Header keys answered from the cached facts; any other field reads the stored headers. */
const FACT_HEADERS = new Set(["from", "to", "cc", "bcc", "subject", "message-id"]);

function collect(key: SearchKey, out: { text: Set<string>; headers: Set<string>; short: boolean; headerText: boolean }): void {
  switch (key.k) {
    case "body":
    case "text":
      if (key.k === "text") out.headerText = true;
      out.text.add(key.value.toLowerCase());
      if (!/[\p{L}\p{N}]/u.test(key.value)) out.short = true;
      break;
    case "header":
      if (!FACT_HEADERS.has(key.field)) out.headers.add(key.field);
      break;
    case "not":
      collect(key.key, out);
      break;
    case "or":
      collect(key.a, out);
      collect(key.b, out);
      break;
    case "and":
      for (const k of key.keys) collect(k, out);
      break;
  }
}

function utcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function inRanges(n: number, ranges: [number, number][], max: number): boolean {
  for (let [a, b] of ranges) {
    if (a === STAR) a = max;
    if (b === STAR) b = max;
    if (n >= Math.min(a, b) && n <= Math.max(a, b)) return true;
  }
  return false;
}

export async function runSearch(s: ImapSession, key: SearchKey): Promise<number[]> {
  const sel = s.selected!;
  const scope = s.scope!;
  const uids = sel.uids;
  if (uids.length === 0) return [];
  const wants = { text: new Set<string>(), headers: new Set<string>(), short: false, headerText: false };
  collect(key, wants);
  const p: Prepared = { facts: await s.deps.searchFacts.get(scope, uids), text: new Map(), headers: new Map(), headerText: () => "" };
  for (const t of wants.text) p.text.set(t, await s.deps.searchFacts.textMatches(t));
  if (wants.headers.size || wants.headerText) {
    // blob ids of scope-checked rows only: a search never reads another tenant's headers
    const listings = await s.deps.listings.get([...new Set([...p.facts.values()].map((f) => f.blobId))]);
    p.headerText = (blobId) => {
      const l = listings.get(blobId);
      return l ? s.deps.listings.headerText(blobId, l) : "";
    };
    for (const field of wants.headers) {
      const m = new Map<number, string>();
      for (const [uid, f] of p.facts) {
        const header = listings.get(f.blobId)?.header;
        if (!header) continue;
        const block = headerFields(header, [field], false);
        // "" when the message has no such field (headerFields still returns the blank line)
        m.set(uid, searchText(block).replace(/\r\n$/, "").trim());
      }
      p.headers.set(field, m);
    }
  }
  if (wants.short) {
    p.raw = new Map();
    const list = [...uids];
    for (let i = 0; i < list.length; i += 200) {
      const bytes = await s.deps.mailbox.bytes(scope, list.slice(i, i + 200));
      for (const [uid, b] of bytes) p.raw.set(uid, Buffer.from(b).toString("latin1").toLowerCase());
    }
  }
  const max = uids[uids.length - 1];
  const out: number[] = [];
  for (let i = 0; i < uids.length; i++) {
    const uid = uids[i];
    const facts = p.facts.get(uid);
    if (!facts) continue;
    if (matches(s, key, uid, i + 1, facts, p, max)) out.push(uid);
  }
  return out;
}

function matches(s: ImapSession, key: SearchKey, uid: number, seq: number, f: SearchFacts, p: Prepared, maxUid: number): boolean {
  const sel = s.selected!;
  switch (key.k) {
    case "all":
      return true;
    case "seq":
      return key.set === "$" ? sel.saved.has(uid) : inRanges(seq, key.set, sel.exists);
    case "uid":
      return key.set === "$" ? sel.saved.has(uid) : inRanges(uid, key.set, maxUid);
    case "flag": {
      if (key.flag === "\\Recent") return !key.set; // no message is \Recent here
      const bit = flagBit(key.flag);
      const has = bit ? (sel.flagBits(uid) & bit) !== 0 : (sel.flags.get(uid)?.keywords ?? []).some((k) => k.toLowerCase() === key.flag.toLowerCase());
      return has === key.set;
    }
    case "header": {
      const v = key.value.toLowerCase();
      switch (key.field) {
        case "from": return f.from.includes(v);
        case "to": return f.to.includes(v);
        case "cc": return f.cc.includes(v);
        case "bcc": return f.bcc.includes(v);
        case "subject": return f.subject.includes(v);
        case "message-id": return f.messageId.includes(v);
      }
      const text = p.headers.get(key.field)?.get(uid) ?? "";
      // HEADER name "" matches every message that has the field (RFC 3501)
      return v === "" ? text.length > 0 : text.slice(key.field.length + 1).includes(v);
    }
    case "body":
    case "text": {
      const v = key.value.toLowerCase();
      const hits = p.text.get(v);
      const inBody = hits ? hits.has(f.blobId) : (p.raw?.get(uid) ?? "").includes(v);
      if (key.k === "body") return inBody;
      // TEXT is "header or body" (RFC 3501 §6.4.4): the decoded address and subject fields, then
      // any header field as HEADER <field> sees it (Received, X-Spam-Status, Message-ID, ...)
      if (inBody || f.subject.includes(v) || f.from.includes(v) || f.to.includes(v) || f.cc.includes(v) || f.bcc.includes(v) || f.messageId.includes(v)) return true;
      return p.headerText(f.blobId).includes(v);
    }
    case "date": {
      // INTERNALDATE by its UTC day; the Date header by the day it names, in its own zone (RFC 3501 §6.4.4)
      const day = key.which === "internal" ? utcDay(f.receivedAt) : f.dateDay !== null ? f.dateDay * 86400_000 : f.date !== null ? utcDay(f.date) : null;
      if (day === null) return false;
      const want = Date.UTC(key.y, key.m - 1, key.d);
      return key.op === "before" ? day < want : key.op === "on" ? day === want : day >= want;
    }
    case "size":
      return key.op === "larger" ? f.size > key.n : f.size < key.n;
    case "modseq":
      return BigInt(Math.max(f.modseq, sel.flags.get(uid)?.modseq ?? 0)) >= key.n;
    case "not":
      return !matches(s, key.key, uid, seq, f, p, maxUid);
    case "or":
      return matches(s, key.a, uid, seq, f, p, maxUid) || matches(s, key.b, uid, seq, f, p, maxUid);
    case "and":
      return key.keys.every((k) => matches(s, k, uid, seq, f, p, maxUid));
  }
}
