/**
 * The per-message facts SEARCH evaluates, cached process-wide by UID: they never change after
 * ingest, so a repeated search is pure in-memory work (10,000 messages in a few ms).
 */
import type { SearchFields } from "../../mime/types.ts";
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
   */
  async textMatches(term: string): Promise<Set<number> | null> {
    const words = term.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (words.length === 0) return null;
    const query = words.map((w) => `"${w}"*`).join(" AND ");
    await this.words?.catchUp();
    const r = await this.store.client.execute({ sql: "SELECT rowid FROM blob_text WHERE blob_text MATCH ?", args: [query] });
    return new Set(r.rows.map((row) => Number(row.rowid)));
  }
}
