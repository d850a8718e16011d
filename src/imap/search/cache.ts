/**
 * The per-message facts SEARCH evaluates, cached process-wide by UID: they never change after
 * ingest, so a repeated search is pure in-memory work (10,000 messages in a few ms).
 */
import type { SearchFields } from "../../mime/types.ts";
import { ProtocolError } from "../protocol/index.ts";
import type { Store } from "../../storage/db.ts";
import { scopeFilter, type Scope } from "../../quarantine/scope.ts";
import type { WordIndexer } from "../../quarantine/word-index.ts";

/** A message's decoded search fields (lower-cased here) and its row's facts. */
export interface SearchFacts extends SearchFields {
  blobId: number;
  receivedAt: number;
  size: number;
  modseq: number;
}

const MAX = 200_000;

/** Distinct words of one TEXT/BODY term that go to the word index (an FTS5 MATCH costs more than linearly in them). */
export const MAX_TERM_WORDS = 64;
/** words AND-ed in one MATCH (8 broad prefixes such as "e"* take about 25 ms over 10,000 messages) */
const WORDS_PER_QUERY = 8;

/**
 * The words of a TEXT/BODY term as the word index is queried with them: lower-cased, each once,
 * and without a word that is a prefix of another (every word that starts with "zanzib" starts
 * with "zan"), so "a a a ..." is one word. Throws ProtocolError LIMIT past MAX_TERM_WORDS.
 */
export function queryWords(term: string): string[] {
  const distinct = [...new Set(term.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean))];
  if (distinct.length > 4 * MAX_TERM_WORDS) throw tooManyWords();
  const words = distinct.filter((w) => !distinct.some((o) => o !== w && o.startsWith(w)));
  if (words.length > MAX_TERM_WORDS) throw tooManyWords();
  return words;
}

function tooManyWords(): ProtocolError {
  return new ProtocolError(`Search string has too many words (limit ${MAX_TERM_WORDS})`, "LIMIT");
}

export class SearchFactCache {
  private facts = new Map<number, SearchFacts>();

  /** words: catches up the word index deliveries left out, before a text search */
  constructor(private store: Store, private words?: WordIndexer) {}

  /**
   * Loads the facts of every message in the quarantine (newest first, up to the cache's
   * bound), so the first SEARCH after a start does not pay for it. Run in the background.
   */
  async warm(): Promise<number> {
    const r = await this.store.client.execute({ sql: "SELECT id FROM messages WHERE state = 'caught' ORDER BY id DESC LIMIT ?", args: [MAX] });
    const ids = r.rows.map((row) => Number(row.id)).reverse();
    const all: Scope = { kind: "admin", accountId: 0, login: "system" };
    for (let i = 0; i < ids.length; i += 5000) await this.get(all, ids.slice(i, i + 5000));
    return ids.length;
  }

  /** Facts for the UIDs (scope-filtered in SQL), loading what is not cached. */
  async get(scope: Scope, uids: Uint32Array | number[]): Promise<Map<number, SearchFacts>> {
    const out = new Map<number, SearchFacts>();
    const missing: number[] = [];
    for (const u of uids) {
      const f = this.facts.get(u);
      if (f) out.set(u, f);
      else missing.push(u);
    }
    if (missing.length) {
      const f = scopeFilter(scope);
      const want = new Set(missing);
      const r = await this.store.client.execute({
        sql: `SELECT m.id, m.blob_id, m.received_at, m.raw_size, m.modseq, b.h_from, b.h_to, b.h_cc, b.h_bcc, b.h_subject, b.h_message_id, b.h_date, b.h_date_day
              FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id BETWEEN ? AND ? AND ${f.sql}`,
        args: [missing[0], missing[missing.length - 1], ...f.args],
      });
      if (this.facts.size + r.rows.length > MAX) this.facts.clear();
      for (const row of r.rows) {
        const id = Number(row.id);
        if (!want.has(id)) continue;
        const facts: SearchFacts = {
          blobId: Number(row.blob_id),
          receivedAt: Number(row.received_at),
          size: Number(row.raw_size),
          modseq: Number(row.modseq),
          from: (row.h_from as string).toLowerCase(),
          to: (row.h_to as string).toLowerCase(),
          cc: (row.h_cc as string).toLowerCase(),
          bcc: (row.h_bcc as string).toLowerCase(),
          subject: (row.h_subject as string).toLowerCase(),
          messageId: (row.h_message_id as string).toLowerCase(),
          date: row.h_date === null ? null : Number(row.h_date),
          dateDay: row.h_date_day === null ? null : Number(row.h_date_day),
        };
        this.facts.set(id, facts);
        out.set(id, facts);
      }
    }
    return out;
  }

  /**
   * Blob ids whose decoded text has every word of `term` as a word or word prefix (the word
   * index built at ingest; case and accents folded). null when the term has no word characters,
   * and the caller falls back to scanning the messages.
   *
   * The words go to the index WORDS_PER_QUERY at a time, results intersected, with `between`
   * awaited before each further query: one MATCH runs on this thread from start to end, and its
   * cost grows faster than its number of words. Stops at the first query that finds nothing.
   */
  async textMatches(term: string, between?: () => Promise<void>): Promise<Set<number> | null> {
    const words = queryWords(term);
    if (words.length === 0) return null;
    await this.words?.catchUp();
    let found: Set<number> | undefined;
    for (let i = 0; i < words.length; i += WORDS_PER_QUERY) {
      if (i > 0) await between?.();
      const query = words.slice(i, i + WORDS_PER_QUERY).map((w) => `"${w}"*`).join(" AND ");
      const r = await this.store.client.execute({ sql: "SELECT rowid FROM blob_text WHERE blob_text MATCH ?", args: [query] });
      const hits = new Set(r.rows.map((row) => Number(row.rowid)));
      found = found === undefined ? hits : new Set([...found].filter((id) => hits.has(id)));
      if (found.size === 0) break;
    }
    return found!;
  }
}
