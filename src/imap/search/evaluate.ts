/**
 * Evaluates a parsed SEARCH key over the selected view in memory, using the cached facts,
 * this account's flags, the word index built at ingest (BODY, and TEXT's body part) and the
 * cached header blocks (generic HEADER keys, TEXT's header part). Terms without a letter or
 * digit read the stored messages, only for those keys, 200 at a time.
 *
 * One SEARCH must not hold the event loop: the key is compiled once (strings lower-cased,
 * substring tests linear in the text, sequence sets sorted for a binary search), messages are
 * evaluated in slices with a turn of the event loop every 10 ms, and word-index queries run one
 * at a time with a turn between them. A search whose client has gone stops at the next turn.
 */
import { headerFields } from "../../mime/index.ts";
import { searchText } from "../fetch/listing-cache.ts";
import { flagBit } from "../../quarantine/mailbox.ts";
import type { SearchKey, SeqRange } from "../protocol/index.ts";
import { mergeRanges } from "../session/sequence.ts";
import type { ImapSession } from "../session/session.ts";
import { queryWords, type SearchFacts } from "./cache.ts";
import { substringTest, type Contains } from "./substring.ts";

/** A search key ready to evaluate: strings lower-cased with their tests, sets resolved and sorted. */
type Node =
  | { k: "all" }
  | { k: "seq" | "uid"; saved: true }
  | { k: "seq" | "uid"; saved: false; lo: Float64Array; hi: Float64Array }
  | { k: "flag"; flag: string; bit: number; set: boolean }
  | { k: "header"; field: string; value: string; has: Contains }
  | { k: "body" | "text"; value: string; has: Contains }
  | { k: "date"; which: "internal" | "sent"; op: "before" | "on" | "since"; want: number }
  | { k: "size"; op: "larger" | "smaller"; n: number }
  | { k: "modseq"; n: bigint }
  | { k: "not"; key: Node }
  | { k: "or"; a: Node; b: Node }
  | { k: "and"; keys: Node[] };

interface Prepared {
  facts: Map<number, SearchFacts>;
  /** lower-cased TEXT/BODY term → blob ids from the word index (null: no word characters) */
  text: Map<string, Set<number> | null>;
  /** lower-cased header field values for generic HEADER keys, made on first use: field → uid → text */
  headers: Map<string, Map<number, string>>;
  header: (field: string, uid: number, blobId: number) => string;
  /** uid → lower-cased raw message, for short TEXT/BODY terms (the current slice only) */
  raw?: Map<number, string>;
  /** blob → its whole header block, unfolded and lower-cased (cached), for TEXT */
  headerText: (blobId: number) => string;
}

/** Header keys answered from the cached facts; any other field reads the stored headers. */
const FACT_HEADERS = new Set(["from", "to", "cc", "bcc", "subject", "message-id"]);
/** messages whose raw text is held at once for short terms */
const SLICE = 200;
/** longest run of evaluation before other connections get a turn */
const TURN_MS = 10;

const turn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

interface Wants { text: Set<string>; headers: Set<string>; short: boolean; headerText: boolean }

/** Sorted, merged ranges with "*" resolved to `max`: membership by binary search. */
function resolveRanges(set: SeqRange[], max: number): { lo: Float64Array; hi: Float64Array } {
  const merged = mergeRanges(set, max);
  return { lo: Float64Array.from(merged, (r) => r[0]), hi: Float64Array.from(merged, (r) => r[1]) };
}

function inRanges(n: number, lo: Float64Array, hi: Float64Array): boolean {
  let a = 0;
  let b = lo.length;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (hi[mid] < n) a = mid + 1;
    else b = mid;
  }
  return a < lo.length && lo[a] <= n;
}

function compile(key: SearchKey, w: Wants, maxSeq: number, maxUid: number): Node {
  switch (key.k) {
    case "seq":
    case "uid":
      if (key.set === "$") return { k: key.k, saved: true };
      return { k: key.k, saved: false, ...resolveRanges(key.set, key.k === "seq" ? maxSeq : maxUid) };
    case "flag":
      return { k: "flag", flag: key.flag.toLowerCase(), bit: flagBit(key.flag) ?? 0, set: key.set };
    case "header": {
      if (!FACT_HEADERS.has(key.field)) w.headers.add(key.field);
      const value = key.value.toLowerCase();
      return { k: "header", field: key.field, value, has: substringTest(value) };
    }
    case "body":
    case "text": {
      if (key.k === "text") w.headerText = true;
      const value = key.value.toLowerCase();
      w.text.add(value);
      if (!/[\p{L}\p{N}]/u.test(value)) w.short = true;
      return { k: key.k, value, has: substringTest(value) };
    }
    case "date":
      return { k: "date", which: key.which, op: key.op, want: Date.UTC(key.y, key.m - 1, key.d) };
    case "not":
      return { k: "not", key: compile(key.key, w, maxSeq, maxUid) };
    case "or":
      return { k: "or", a: compile(key.a, w, maxSeq, maxUid), b: compile(key.b, w, maxSeq, maxUid) };
    case "and":
      return { k: "and", keys: key.keys.map((k) => compile(k, w, maxSeq, maxUid)) };
    default:
      return key;
  }
}

function utcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export async function runSearch(s: ImapSession, key: SearchKey): Promise<number[]> {
  const sel = s.selected!;
  const scope = s.scope!;
  const uids = sel.uids;
  if (uids.length === 0) return [];
  const wants: Wants = { text: new Set(), headers: new Set(), short: false, headerText: false };
  const node = compile(key, wants, uids.length, uids[uids.length - 1]);
  // Word limits are checked for every term before the first query runs.
  for (const t of wants.text) queryWords(t);
  const p: Prepared = {
    facts: await s.deps.searchFacts.get(scope, uids),
    text: new Map(),
    headers: new Map(),
    header: () => "",
    headerText: () => "",
  };
  for (const t of wants.text) {
    p.text.set(t, await s.deps.searchFacts.textMatches(t, turn));
    await turn();
    if (s.isClosed) return [];
  }
  if (wants.headers.size || wants.headerText) {
    // blob ids of scope-checked rows only: a search never reads another tenant's headers
    const listings = await s.deps.listings.get([...new Set([...p.facts.values()].map((f) => f.blobId))]);
    p.headerText = (blobId) => {
      const l = listings.get(blobId);
      return l ? s.deps.listings.headerText(blobId, l) : "";
    };
    for (const field of wants.headers) p.headers.set(field, new Map());
    p.header = (field, uid, blobId) => {
      const m = p.headers.get(field)!;
      let text = m.get(uid);
      if (text === undefined) {
        const header = listings.get(blobId)?.header;
        // "" when the message has no such field (headerFields still returns the blank line)
        text = header ? searchText(headerFields(header, [field], false)).replace(/\r\n$/, "").trim() : "";
        m.set(uid, text);
      }
      return text;
    };
  }
  const out: number[] = [];
  let since = performance.now();
  for (let start = 0; start < uids.length; start += SLICE) {
    const end = Math.min(uids.length, start + SLICE);
    if (wants.short) {
      p.raw = new Map();
      const bytes = await s.deps.mailbox.bytes(scope, Array.from(uids.subarray(start, end)));
      for (const [uid, b] of bytes) p.raw.set(uid, Buffer.from(b).toString("latin1").toLowerCase());
    }
    for (let i = start; i < end; i++) {
      const uid = uids[i];
      const facts = p.facts.get(uid);
      if (facts && matches(s, node, uid, i + 1, facts, p)) out.push(uid);
      if ((i & 15) === 15 && performance.now() - since > TURN_MS) {
        await turn();
        if (s.isClosed) return [];
        since = performance.now();
      }
    }
  }
  return out;
}

function matches(s: ImapSession, key: Node, uid: number, seq: number, f: SearchFacts, p: Prepared): boolean {
  const sel = s.selected!;
  switch (key.k) {
    case "all":
      return true;
    case "seq":
    case "uid":
      return key.saved ? sel.saved.has(uid) : inRanges(key.k === "seq" ? seq : uid, key.lo, key.hi);
    case "flag": {
      if (key.flag === "\\recent") return !key.set; // no message is \Recent here
      const has = key.bit ? (sel.flagBits(uid) & key.bit) !== 0 : (sel.flags.get(uid)?.keywords ?? []).some((k) => k.toLowerCase() === key.flag);
      return has === key.set;
    }
    case "header": {
      switch (key.field) {
        case "from": return key.has(f.from);
        case "to": return key.has(f.to);
        case "cc": return key.has(f.cc);
        case "bcc": return key.has(f.bcc);
        case "subject": return key.has(f.subject);
        case "message-id": return key.has(f.messageId);
      }
      const text = p.header(key.field, uid, f.blobId);
      // HEADER name "" matches every message that has the field (RFC 3501)
      return key.value === "" ? text.length > 0 : key.has(text.slice(key.field.length + 1));
    }
    case "body":
    case "text": {
      const hits = p.text.get(key.value);
      const inBody = hits ? hits.has(f.blobId) : key.has(p.raw?.get(uid) ?? "");
      if (key.k === "body") return inBody;
      // TEXT is "header or body" (RFC 3501 §6.4.4): the decoded address and subject fields, then
      // any header field as HEADER <field> sees it (Received, X-Spam-Status, Message-ID, ...)
      if (inBody || key.has(f.subject) || key.has(f.from) || key.has(f.to) || key.has(f.cc) || key.has(f.bcc) || key.has(f.messageId)) return true;
      return key.has(p.headerText(f.blobId));
    }
    case "date": {
      // INTERNALDATE by its UTC day; the Date header by the day it names, in its own zone (RFC 3501 §6.4.4)
      const day = key.which === "internal" ? utcDay(f.receivedAt) : f.dateDay !== null ? f.dateDay * 86400_000 : f.date !== null ? utcDay(f.date) : null;
      if (day === null) return false;
      return key.op === "before" ? day < key.want : key.op === "on" ? day === key.want : day >= key.want;
    }
    case "size":
      return key.op === "larger" ? f.size > key.n : f.size < key.n;
    case "modseq":
      return BigInt(Math.max(f.modseq, sel.flags.get(uid)?.modseq ?? 0)) >= key.n;
    case "not":
      return !matches(s, key.key, uid, seq, f, p);
    case "or":
      return matches(s, key.a, uid, seq, f, p) || matches(s, key.b, uid, seq, f, p);
    case "and":
      return key.keys.every((k) => matches(s, k, uid, seq, f, p));
  }
}
