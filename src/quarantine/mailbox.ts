/**
 * Reads behind an IMAP view of Caught: the UID list, UIDNEXT, per-account flags, the rows a
 * FETCH needs, message bytes, and the change feed. Every query carries the scope filter.
 */
import { log } from "../observability/log.ts";
import { decodeMessage } from "../storage/codec.ts";
import type { CodecPool } from "../storage/codec-pool.ts";
import type { Store } from "../storage/db.ts";
import { markKeys, scopeFilter, type Direction, type Scope } from "./scope.ts";

/** Flag bits stored per account; keywords are kept apart. */
export const FLAG_BITS: Record<string, number> = { "\\Seen": 1, "\\Answered": 2, "\\Flagged": 4, "\\Deleted": 8, "\\Draft": 16 };
export const SYSTEM_FLAGS = Object.keys(FLAG_BITS);
const FLAG_BITS_LOWER = new Map(Object.entries(FLAG_BITS).map(([k, v]) => [k.toLowerCase(), v]));

/** The bit of a system flag, case-insensitively (flags are atoms: \SEEN is \Seen); 0 for keywords. */
export function flagBit(name: string): number {
  return FLAG_BITS_LOWER.get(name.toLowerCase()) ?? 0;
}

export function flagNames(bits: number, keywords?: string[]): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(FLAG_BITS)) if (bits & bit) out.push(name);
  if (keywords) out.push(...keywords);
  return out;
}

export interface ViewSnapshot {
  uids: Uint32Array;
  uidNext: number;
  /** the global MODSEQ this snapshot is current to */
  modseq: number;
}

export interface FlagState {
  bits: number;
  keywords?: string[];
  modseq: number;
}

export interface FetchRow {
  uid: number;
  receivedAt: number;
  size: number;
  modseq: number;
  blobId: number;
  envelope?: string;
  bodyStructure?: string;
  body?: string;
  tree?: string;
  header?: Uint8Array;
}

export interface Change {
  modseq: number;
  uid: number;
  kind: "add" | "remove" | "flags";
}

export class Mailbox {
  /** whether the codec workers read blobs themselves (local files; off after a failure) */
  private workerReads = true;

  /** `codec`: decompress message bytes in a worker (IMAP server); inline when absent. */
  constructor(readonly store: Store, private codec?: CodecPool) {}

  async currentModseq(): Promise<number> {
    const r = await this.store.client.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'");
    return Number(r.rows[0]?.seq ?? 0);
  }

  /** The UIDs visible in Caught (or Caught (Outgoing)) for a scope, ascending, with UIDNEXT. */
  async snapshot(scope: Scope, direction: Direction): Promise<ViewSnapshot> {
    const f = scopeFilter(scope);
    const keys = markKeys(scope, direction);
    const [ids, marks, seq] = await this.store.client.batch(
      [
        { sql: `SELECT id FROM messages m WHERE m.state = 'caught' AND m.direction = ? AND ${f.sql} ORDER BY id`, args: [direction, ...f.args] },
        { sql: `SELECT max(uid_next) AS n FROM uid_marks WHERE scope IN (${keys.map(() => "?").join(",")})`, args: keys },
        "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
      ],
      "read",
    );
    const uids = new Uint32Array(ids.rows.length);
    for (let i = 0; i < uids.length; i++) uids[i] = Number(ids.rows[i].id);
    const last = uids.length ? uids[uids.length - 1] + 1 : 1;
    return { uids, uidNext: Math.max(Number(marks.rows[0]?.n ?? 1), last), modseq: Number(seq.rows[0]?.seq ?? 0) };
  }

  async uidNext(scope: Scope, direction: Direction): Promise<number> {
    const keys = markKeys(scope, direction);
    const r = await this.store.client.execute({ sql: `SELECT max(uid_next) AS n FROM uid_marks WHERE scope IN (${keys.map(() => "?").join(",")})`, args: keys });
    return Number(r.rows[0]?.n ?? 1);
  }

  /** Counts for STATUS without loading the UID list. */
  async status(scope: Scope, direction: Direction, accountId: number): Promise<{ messages: number; unseen: number; size: number; deleted: number; uidNext: number; modseq: number }> {
    const f = scopeFilter(scope);
    const keys = markKeys(scope, direction);
    const [counts, marks, seq] = await this.store.client.batch(
      [
        {
          sql: `SELECT count(*) AS n, coalesce(sum(m.raw_size), 0) AS size,
                  coalesce(sum(CASE WHEN coalesce(fl.flags, 0) & 1 THEN 0 ELSE 1 END), 0) AS unseen,
                  coalesce(sum(CASE WHEN coalesce(fl.flags, 0) & 8 THEN 1 ELSE 0 END), 0) AS deleted
                FROM messages m LEFT JOIN message_flags fl ON fl.message_id = m.id AND fl.account_id = ?
                WHERE m.state = 'caught' AND m.direction = ? AND ${f.sql}`,
          args: [accountId, direction, ...f.args],
        },
        { sql: `SELECT max(uid_next) AS n FROM uid_marks WHERE scope IN (${keys.map(() => "?").join(",")})`, args: keys },
        "SELECT seq FROM sqlite_sequence WHERE name = 'changes'",
      ],
      "read",
    );
    const c = counts.rows[0];
    return {
      messages: Number(c.n),
      unseen: Number(c.unseen),
      size: Number(c.size),
      deleted: Number(c.deleted),
      uidNext: Number(marks.rows[0]?.n ?? 1),
      modseq: Number(seq.rows[0]?.seq ?? 0),
    };
  }

  /** The account's flags on messages in the UID range (only rows that have any). */
  async flags(accountId: number, lo = 1, hi = 0xffffffff): Promise<Map<number, FlagState>> {
    const r = await this.store.client.execute({
      sql: "SELECT message_id, flags, keywords, modseq FROM message_flags WHERE account_id = ? AND message_id BETWEEN ? AND ?",
      args: [accountId, lo, hi],
    });
    const out = new Map<number, FlagState>();
    for (const row of r.rows) {
      out.set(Number(row.message_id), {
        bits: Number(row.flags),
        keywords: row.keywords ? (JSON.parse(row.keywords as string) as string[]) : undefined,
        modseq: Number(row.modseq),
      });
    }
    return out;
  }

  /** Whole message bytes (CRLF) of quarantine rows in scope, by UID. */
  async bytes(scope: Scope, uids: number[]): Promise<Map<number, Uint8Array>> {
    const f = scopeFilter(scope);
    const out = new Map<number, Uint8Array>();
    const file = this.store.localFile;
    if (this.workerReads && this.codec?.available && file) {
      try {
        // Scope checked here (ids → blobs, no data); the workers read and decode the blobs.
        for (let i = 0; i < uids.length; i += 500) {
          const chunk = uids.slice(i, i + 500);
          const r = await this.store.client.execute({
            sql: `SELECT m.id, m.blob_id FROM messages m WHERE m.id IN (${chunk.map(() => "?").join(",")}) AND ${f.sql}`,
            args: [...chunk, ...f.args],
          });
          const decoded = await this.codec.readAndDecode(file, r.rows.map((row) => Number(row.blob_id)));
          r.rows.forEach((row, j) => decoded[j] && out.set(Number(row.id), decoded[j]!));
        }
        return out;
      } catch (e) {
        // e.g. the workers cannot open the file: read here from now on
        this.workerReads = false;
        log("warn", "mailbox.worker_reads_failed", { error: String(e), fallback: "main thread" });
        out.clear();
      }
    }
    for (let i = 0; i < uids.length; i += 500) {
      const chunk = uids.slice(i, i + 500);
      const r = await this.store.client.execute({
        sql: `SELECT m.id, b.data FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id IN (${chunk.map(() => "?").join(",")}) AND ${f.sql}`,
        args: [...chunk, ...f.args],
      });
      const stored = r.rows.map((row) => row.data as ArrayBuffer);
      const joined = this.codec ? await this.codec.decode(stored) : stored.map((x) => decodeMessage(x));
      r.rows.forEach((row, j) => out.set(Number(row.id), joined[j]));
    }
    return out;
  }

  async blobBytes(blobId: number): Promise<Uint8Array | undefined> {
    const r = await this.store.client.execute({ sql: "SELECT data FROM blobs WHERE id = ?", args: [blobId] });
    const row = r.rows[0];
    return row ? decodeMessage(row.data as ArrayBuffer) : undefined;
  }

  /**
   * Changes after `since` that concern this view: rows of the scope entering or leaving
   * Caught, and this account's own flag changes (made by its other sessions).
   */
  async changesSince(scope: Scope, direction: Direction, accountId: number, since: number, limit = 5000): Promise<Change[]> {
    const f = scopeFilter(scope, "c");
    const r = await this.store.client.execute({
      sql: `SELECT modseq, message_id, kind FROM changes c
            WHERE c.modseq > ? AND c.direction = ? AND ${f.sql} AND (c.kind != 'flags' OR c.account_id = ?)
            ORDER BY c.modseq LIMIT ?`,
      args: [since, direction, ...f.args, accountId, limit],
    });
    return r.rows.map((row) => ({ modseq: Number(row.modseq), uid: Number(row.message_id), kind: row.kind as Change["kind"] }));
  }
}
