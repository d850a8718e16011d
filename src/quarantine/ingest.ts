/**
 * The one ingest path (CLI, import, HTTP API, LMTP): parse once, store the blob once per
 * content hash, one quarantine row per recipient, raise the UID marks, append to the change
 * log and the audit log — all in one write transaction per batch, so a batch is either
 * wholly on disk or not at all.
 */
import type { InStatement } from "@libsql/client";
import { inWriteTransaction, type Store } from "../storage/db.ts";
import { prepare, type IngestItem, type Prepared } from "./prepare.ts";
import { domainOf, markKeysForRow, normalizeAddress } from "./scope.ts";

export { IngestError, indexedText, prepare, type IngestItem, type Prepared } from "./prepare.ts";

export interface IngestResult {
  /** quarantine row ids (= UIDs), one per recipient, in recipient order */
  ids: number[];
  blobId: number;
  duplicateBlob: boolean;
}

export interface IngestOptions {
  defaultRetentionDays: number;
  actor?: string;
  actorKind?: string;
  clientAddr?: string | null;
  now?: number;
}

const MAX_VARS = 30000;

/** Multi-row INSERT statements, chunked under SQLite's variable limit. */
function multiInsert(head: string, rows: unknown[][], tail = ""): { sql: string; args: unknown[] }[] {
  if (rows.length === 0) return [];
  const width = rows[0].length;
  const per = Math.max(1, Math.floor(MAX_VARS / width));
  const ph = `(${new Array(width).fill("?").join(",")})`;
  const out: { sql: string; args: unknown[] }[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    out.push({ sql: `${head} VALUES ${chunk.map(() => ph).join(",")} ${tail}`, args: chunk.flat() });
  }
  return out;
}

type Row = Record<string, unknown>;
/** The reads ingest makes inside its transaction (the client's async ones or the native writer's). */
interface Reader {
  all(sql: string, args?: unknown[]): Promise<Row[]> | Row[];
}
/** The next AUTOINCREMENT ids of the tables ingest writes, read in one query under the write lock. */
async function nextIds(tx: Reader): Promise<{ blobs: number; messages: number; changes: number }> {
  const rows = await tx.all("SELECT name, seq FROM sqlite_sequence WHERE name IN ('blobs', 'messages', 'changes')");
  const seq = new Map(rows.map((row) => [row.name as string, Number(row.seq)]));
  return { blobs: (seq.get("blobs") ?? 0) + 1, messages: (seq.get("messages") ?? 0) + 1, changes: (seq.get("changes") ?? 0) + 1 };
}

/**
 * Which of these contents are quarantined already, and for whom (rows in any state): keys
 * `${sha256} ${recipient}`. `import` skips those, so running it twice adds nothing.
 */
export async function quarantinedFor(store: Store, hashes: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < hashes.length; i += 500) {
    const chunk = hashes.slice(i, i + 500);
    const r = await store.client.execute({
      sql: `SELECT b.sha256, m.recipient FROM blobs b JOIN messages m ON m.blob_id = b.id WHERE b.sha256 IN (${chunk.map(() => "?").join(",")})`,
      args: chunk,
    });
    for (const row of r.rows) out.add(`${row.sha256} ${row.recipient}`);
  }
  return out;
}

export async function ingestBatch(store: Store, items: IngestItem[], opts: IngestOptions): Promise<IngestResult[]> {
  const prepared = items.map((item) => prepare(item));
  return ingestPrepared(store, prepared, opts);
}

export async function ingestOne(store: Store, item: IngestItem, opts: IngestOptions): Promise<IngestResult> {
  return (await ingestBatch(store, [item], opts))[0];
}

/**
 * Stores prepared messages in one write transaction. Local files go through the native writer
 * (statements prepared once and reused); a libSQL server through the client (one batch, one
 * round trip). Both run the same plan and the same multi-row statements.
 */
export async function ingestPrepared(store: Store, prepared: Prepared[], opts: IngestOptions): Promise<IngestResult[]> {
  const now = opts.now ?? Date.now();
  const native = store.native();
  if (native) {
    return native.transaction(async (tx) => {
      const { statements, results } = await plan(tx, prepared, opts, now);
      for (const stmt of statements) tx.run(stmt.sql, stmt.args);
      return results;
    });
  }
  return inWriteTransaction(store, async (tx) => {
    const reader: Reader = { all: async (sql, args = []) => (await tx.execute({ sql, args: args as never[] })).rows as unknown as Row[] };
    const { statements, results } = await plan(reader, prepared, opts, now);
    await tx.batch(statements as InStatement[]);
    return results;
  });
}

/**
 * Reads what ingest needs under the write lock and builds the statements that write it:
 * multi-row INSERTs on both paths (FTS5 flushes its pending terms at every statement, so a row
 * per statement wrote tiny index segments: 56 more free pages per 10,000 messages).
 */
async function plan(tx: Reader, prepared: Prepared[], opts: IngestOptions, now: number): Promise<{ statements: { sql: string; args: unknown[] }[]; results: IngestResult[] }> {
  // Domains' retention, read inside the transaction so a concurrent change is seen consistently.
  const domainRows = await tx.all("SELECT name, retention_days FROM domains");
  const retention = new Map(domainRows.map((r) => [r.name as string, r.retention_days as number | null]));

  // Blobs: reuse by hash (also within this batch), insert the new ones with explicit ids.
  const hashes = [...new Set(prepared.map((p) => p.sha256))];
  const blobIds = new Map<string, number>();
  for (let i = 0; i < hashes.length; i += 500) {
    const chunk = hashes.slice(i, i + 500);
    const rows = await tx.all(`SELECT id, sha256 FROM blobs WHERE sha256 IN (${chunk.map(() => "?").join(",")})`, chunk);
    for (const row of rows) blobIds.set(row.sha256 as string, Number(row.id));
  }
  const existing = new Set(blobIds.keys());
  const next = await nextIds(tx);
  let nextBlob = next.blobs;
  const blobRows: unknown[][] = [];
  const textRows: unknown[][] = [];
  const queuedRows: unknown[][] = [];
  for (const p of prepared) {
    if (blobIds.has(p.sha256)) continue;
    const id = nextBlob++;
    blobIds.set(p.sha256, id);
    const f = p.fields;
    blobRows.push([id, p.sha256, p.size, p.stored, f.from, f.to, f.cc, f.bcc, f.subject, f.messageId, f.date, f.dateDay, now]);
    if (p.text === null) queuedRows.push([id]);
    else if (p.text) textRows.push([id, p.text]);
  }

  // Quarantine rows, change log entries and UID marks, with ids allocated under the write lock.
  let nextMessage = next.messages;
  let nextModseq = next.changes;
  const messageRows: unknown[][] = [];
  const changeRows: unknown[][] = [];
  const auditRows: unknown[][] = [];
  const marks = new Map<string, number>();
  const results: IngestResult[] = [];
  for (const p of prepared) {
    const blobId = blobIds.get(p.sha256)!;
    const direction = p.item.direction ?? "in";
    const receivedAt = p.item.receivedAt ?? now;
    const ids: number[] = [];
    for (const rcpt of p.recipients) {
      const id = nextMessage++;
      const modseq = nextModseq++;
      const domain = domainOf(rcpt);
      const days = retention.get(domain) ?? opts.defaultRetentionDays;
      const expiresAt = Math.max(receivedAt, now) + days * 86400_000;
      messageRows.push([id, blobId, direction, rcpt, domain, p.item.sender ? normalizeAddress(p.item.sender) : "", p.item.score ?? null, p.item.reason ?? "", "caught", receivedAt, expiresAt, modseq, p.size, now]);
      changeRows.push([modseq, id, "add", rcpt, domain, direction, now]);
      auditRows.push([now, opts.actor ?? "system", opts.actorKind ?? "system", opts.clientAddr ?? null, "ingest", id, JSON.stringify({ recipient: rcpt, blob: blobId, direction })]);
      for (const key of markKeysForRow(rcpt, domain, direction)) marks.set(key, id + 1);
      ids.push(id);
    }
    results.push({ ids, blobId, duplicateBlob: existing.has(p.sha256) });
  }

  const statements = [
    ...multiInsert("INSERT INTO blobs (id, sha256, raw_size, data, h_from, h_to, h_cc, h_bcc, h_subject, h_message_id, h_date, h_date_day, created_at)", blobRows),
    ...multiInsert("INSERT INTO blob_text (rowid, body)", textRows),
    ...multiInsert("INSERT INTO word_index_queue (blob_id)", queuedRows),
    ...multiInsert("INSERT INTO messages (id, blob_id, direction, recipient, recipient_domain, sender, score, reason, state, received_at, expires_at, modseq, raw_size, state_changed_at)", messageRows),
    ...multiInsert("INSERT INTO changes (modseq, message_id, kind, recipient, recipient_domain, direction, at)", changeRows),
    ...multiInsert("INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail)", auditRows),
    ...multiInsert(
      "INSERT INTO uid_marks (scope, uid_next)",
      [...marks].map(([k, n]) => [k, n]),
      "ON CONFLICT(scope) DO UPDATE SET uid_next = max(uid_next, excluded.uid_next)",
    ),
  ];
  return { statements, results };
}
