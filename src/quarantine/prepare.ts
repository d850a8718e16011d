/**
 * The CPU half of ingest: normalise line endings, parse the MIME index, hash, build the stored
 * container and the word list. No database here, so the prepare workers load only this.
 */
import { createHash } from "node:crypto";
import { indexMessage, normalizeCrlf, type MessageIndex } from "../mime/index.ts";
import { decodeMessage, encodeMessage, isPlainContainer } from "../storage/codec.ts";
import { isAddress, normalizeAddress, type Direction } from "./scope.ts";

export interface IngestItem {
  raw: Uint8Array;
  recipients: string[];
  sender?: string;
  reason?: string;
  score?: number | null;
  direction?: Direction;
  /** INTERNALDATE; default now */
  receivedAt?: number;
}

export class IngestError extends Error {}

/** Everything computed outside the transaction: CPU work never holds the write lock. */
export interface Prepared {
  item: IngestItem;
  recipients: string[];
  /** size of the CRLF-normalised message (RFC822.SIZE) */
  size: number;
  sha256: string;
  /** decoded header fields for SEARCH (the blob's h_* columns) */
  fields: MessageIndex["fields"];
  /** the stored container: message and listing data, compact or plain (storage/codec.ts) */
  stored: Uint8Array;
  /** what the word index gets; null: left to the word indexer (quarantine/word-index.ts) */
  text: string | null;
}

export interface PrepareOptions {
  /**
   * Build the word list now (default). LMTP passes false: the list costs about a third of
   * prepare() and the index insert a quarter of the commit, on the path a delivery waits for.
   */
  words?: boolean;
  /**
   * Store the compact container now (default). LMTP passes false: finding the base64 parts and
   * compressing is half of prepare(); the plain container is replaced by the compact one in the
   * background (finishStored).
   */
  compact?: boolean;
}

export function prepare(item: IngestItem, opts: PrepareOptions = {}): Prepared {
  const recipients = [...new Set(item.recipients.map(normalizeAddress))];
  if (recipients.length === 0) throw new IngestError("no recipient");
  for (const r of recipients) if (!isAddress(r)) throw new IngestError(`invalid recipient address: ${JSON.stringify(r)}`);
  const raw = normalizeCrlf(item.raw);
  const sha256 = createHash("sha256").update(raw).digest("hex");
  const words = opts.words !== false;
  const index = indexMessage(raw, { text: words });
  const stored = encodeMessage(raw, index.root, listingOf(index), { compact: opts.compact });
  const text = words ? indexedText(index.text) : null;
  return { item, recipients, size: raw.length, sha256, fields: index.fields, stored, text };
}

function listingOf(index: MessageIndex) {
  return { envelope: index.envelope, bodyStructure: index.bodyStructure, body: index.body, tree: JSON.stringify(index.root) };
}

/** What the word indexer finishes for a stored message: its words, and its compact container if it was stored plain. */
export interface Finished {
  text: string;
  compact?: Uint8Array;
}

/**
 * The deferred half of prepare() for a stored container (the word indexer's): the word-index
 * text, and the compact form of a plain container. An unreadable container gets "" and stays
 * as it is (FETCH reports those).
 */
export function finishStored(stored: Uint8Array): Finished {
  try {
    const raw = decodeMessage(stored);
    const index = indexMessage(raw);
    const text = indexedText(index.text);
    if (!isPlainContainer(stored)) return { text };
    return { text, compact: encodeMessage(raw, index.root, listingOf(index)) };
  } catch {
    return { text: "" };
  }
}

/**
 * What goes into the word index: each distinct word once, in order of first appearance,
 * capped. Spam repeats itself; this keeps the index about a fifth of the size of indexing the
 * whole text, and every word stays findable.
 */
const MAX_INDEXED_CHARS = 32 * 1024;
export function indexedText(text: string): string {
  // one lower-casing and one split for the whole text; a Set keeps first-appearance order
  const words = new Set(text.slice(0, 16 * MAX_INDEXED_CHARS).toLowerCase().split(/\s+/));
  words.delete("");
  const out = [...words].join(" ");
  if (out.length <= MAX_INDEXED_CHARS) return out;
  const cut = out.lastIndexOf(" ", MAX_INDEXED_CHARS);
  return out.slice(0, cut > 0 ? cut : MAX_INDEXED_CHARS);
}

