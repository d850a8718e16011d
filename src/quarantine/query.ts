/**
 * Filtered, paginated reads of the quarantine for the admin API (and later IMAP SEARCH
 * helpers): list/search with keyset pagination, one row's metadata, the ids a bulk action
 * applies to, and the scoped views of the outbox, training reports and audit log.
 * Every query carries the caller's scope filter in SQL, so a row outside the scope is
 * indistinguishable from a row that does not exist.
 */
import type { InValue } from "@libsql/client";
import type { Store } from "../storage/db.ts";
import { scopeFilter, type Direction, type Scope } from "./scope.ts";
import type { MessageState } from "../storage/schema.ts";

export interface QuarantineFilter {
  recipient?: string;
  domain?: string;
  /** substring, case-insensitive */
  sender?: string;
  /** substring of the decoded Subject, case-insensitive */
  subject?: string;
  /** substring of the filter's reason, case-insensitive */
  reason?: string;
  scoreMin?: number;
  scoreMax?: number;
  /** received at or after (epoch ms) */
  since?: number;
  /** received before (epoch ms) */
  until?: number;
  /** default: caught */
  state?: MessageState | "any";
  direction?: Direction;
  ids?: number[];
}

export interface MessageMeta {
  id: number;
  direction: Direction;
  recipient: string;
  domain: string;
  sender: string;
  subject: string;
  from: string;
  messageId: string;
  date: string | null;
  score: number | null;
  reason: string;
  state: MessageState;
  receivedAt: string;
  expiresAt: string;
  size: number;
  lastError: string | null;
  stateChangedAt: string | null;
}

const COLS = `m.id, m.direction, m.recipient, m.recipient_domain, m.sender, m.score, m.reason, m.state, m.received_at, m.expires_at,
  m.raw_size, m.last_error, m.state_changed_at, b.h_subject, b.h_from, b.h_message_id, b.h_date`;

function iso(n: unknown): string | null {
  return n == null ? null : new Date(Number(n)).toISOString();
}

function toMeta(row: Record<string, unknown>): MessageMeta {
  return {
    id: Number(row.id),
    direction: row.direction as Direction,
    recipient: row.recipient as string,
    domain: row.recipient_domain as string,
    sender: row.sender as string,
    subject: (row.h_subject as string) ?? "",
    from: (row.h_from as string) ?? "",
    messageId: (row.h_message_id as string) ?? "",
    date: iso(row.h_date),
    score: row.score == null ? null : Number(row.score),
    reason: row.reason as string,
    state: row.state as MessageState,
    receivedAt: iso(row.received_at)!,
    expiresAt: iso(row.expires_at)!,
    size: Number(row.raw_size),
    lastError: (row.last_error as string | null) ?? null,
    stateChangedAt: iso(row.state_changed_at),
  };
}

function likeArg(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** WHERE clause (on m, joined b) for a filter within a scope. */
export function filterSql(scope: Scope, f: QuarantineFilter): { sql: string; args: InValue[] } {
  const s = scopeFilter(scope);
  const where: string[] = [s.sql];
  const args: InValue[] = [...s.args];
  const state = f.state ?? "caught";
  if (state !== "any") where.push("m.state = ?"), args.push(state);
  if (f.direction) where.push("m.direction = ?"), args.push(f.direction);
  if (f.recipient) where.push("m.recipient = ?"), args.push(f.recipient.toLowerCase());
  if (f.domain) where.push("m.recipient_domain = ?"), args.push(f.domain.toLowerCase());
  if (f.sender) where.push("lower(m.sender) LIKE ? ESCAPE '\\'"), args.push(likeArg(f.sender));
  if (f.subject) where.push("lower(b.h_subject) LIKE ? ESCAPE '\\'"), args.push(likeArg(f.subject));
  if (f.reason) where.push("lower(m.reason) LIKE ? ESCAPE '\\'"), args.push(likeArg(f.reason));
  if (f.scoreMin !== undefined) where.push("m.score >= ?"), args.push(f.scoreMin);
  if (f.scoreMax !== undefined) where.push("m.score <= ?"), args.push(f.scoreMax);
  if (f.since !== undefined) where.push("m.received_at >= ?"), args.push(f.since);
  if (f.until !== undefined) where.push("m.received_at < ?"), args.push(f.until);
  if (f.ids) {
    if (f.ids.length === 0) where.push("0");
    else where.push(`m.id IN (${f.ids.map(() => "?").join(",")})`), args.push(...f.ids);
  }
  return { sql: where.join(" AND "), args };
}

export interface Page<T> {
  items: T[];
  /** opaque; pass back as `cursor` for the next page; null on the last page */
  nextCursor: string | null;
}

function encodeCursor(at: number, id: number): string {
  return Buffer.from(`${at}:${id}`).toString("base64url");
}

export function decodeCursor(c: string): { at: number; id: number } | null {
  const m = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(c, "base64url").toString());
  return m ? { at: Number(m[1]), id: Number(m[2]) } : null;
}

/** List/search, newest first (or oldest first), keyset-paginated on (received_at, id). */
export async function searchQuarantine(
  store: Store,
  scope: Scope,
  f: QuarantineFilter,
  page: { limit: number; cursor?: { at: number; id: number }; order?: "asc" | "desc" },
): Promise<Page<MessageMeta>> {
  const w = filterSql(scope, f);
  const desc = (page.order ?? "desc") === "desc";
  let sql = w.sql;
  const args = [...w.args];
  if (page.cursor) {
    sql += desc ? " AND (m.received_at < ? OR (m.received_at = ? AND m.id < ?))" : " AND (m.received_at > ? OR (m.received_at = ? AND m.id > ?))";
    args.push(page.cursor.at, page.cursor.at, page.cursor.id);
  }
  const dir = desc ? "DESC" : "ASC";
  const r = await store.client.execute({
    sql: `SELECT ${COLS} FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE ${sql} ORDER BY m.received_at ${dir}, m.id ${dir} LIMIT ?`,
    args: [...args, page.limit + 1],
  });
  const rows = r.rows.map((row) => row as unknown as Record<string, unknown>);
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items[items.length - 1];
  return { items: items.map(toMeta), nextCursor: more && last ? encodeCursor(Number(last.received_at), Number(last.id)) : null };
}

export async function countQuarantine(store: Store, scope: Scope, f: QuarantineFilter): Promise<number> {
  const w = filterSql(scope, f);
  const r = await store.client.execute({ sql: `SELECT count(*) AS n FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE ${w.sql}`, args: w.args });
  return Number(r.rows[0].n);
}

/** One row's metadata, any state; undefined when it does not exist or is outside the scope. */
export async function getMessageMeta(store: Store, scope: Scope, id: number): Promise<MessageMeta | undefined> {
  const s = scopeFilter(scope);
  const r = await store.client.execute({
    sql: `SELECT ${COLS} FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.id = ? AND ${s.sql}`,
    args: [id, ...s.args],
  });
  return r.rows[0] ? toMeta(r.rows[0] as unknown as Record<string, unknown>) : undefined;
}

/** Ids matching a filter (for bulk actions), oldest first, at most `max`. */
export async function matchingIds(store: Store, scope: Scope, f: QuarantineFilter, max: number): Promise<{ ids: number[]; truncated: boolean }> {
  const w = filterSql(scope, f);
  const r = await store.client.execute({
    sql: `SELECT m.id FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE ${w.sql} ORDER BY m.id LIMIT ?`,
    args: [...w.args, max + 1],
  });
  const ids = r.rows.map((row) => Number(row.id));
  return { ids: ids.slice(0, max), truncated: ids.length > max };
}

/* ---------- outbox, training reports, audit: scoped views ---------- */

export interface QueueSummary {
  byState: Record<string, number>;
  /** age in seconds of the oldest pending item, 0 when none */
  oldestPendingSeconds: number;
}

export async function outboxStatus(store: Store, scope: Scope, opts: { state?: string; limit: number; beforeId?: number }) {
  const s = scopeFilter(scope);
  const where = [s.sql];
  const args: InValue[] = [...s.args];
  if (opts.state) where.push("o.state = ?"), args.push(opts.state);
  if (opts.beforeId) where.push("o.id < ?"), args.push(opts.beforeId);
  const [summary, items] = await store.client.batch(
    [
      { sql: `SELECT o.state, count(*) AS n, min(o.created_at) AS oldest FROM outbox o JOIN messages m ON m.id = o.message_id WHERE ${s.sql} GROUP BY o.state`, args: s.args },
      {
        sql: `SELECT o.id, o.message_id, o.state, o.attempts, o.next_attempt_at, o.last_reply, o.requested_by, o.train, o.created_at, o.finished_at, m.recipient
              FROM outbox o JOIN messages m ON m.id = o.message_id WHERE ${where.join(" AND ")} ORDER BY o.id DESC LIMIT ?`,
        args: [...args, opts.limit + 1],
      },
    ],
    "read",
  );
  const sum = summarize(summary.rows as unknown as Record<string, unknown>[]);
  const rows = items.rows.slice(0, opts.limit).map((r) => ({
    id: Number(r.id),
    messageId: Number(r.message_id),
    recipient: r.recipient as string,
    state: r.state as string,
    attempts: Number(r.attempts),
    nextAttemptAt: iso(r.next_attempt_at),
    lastReply: (r.last_reply as string | null) ?? null,
    requestedBy: r.requested_by as string,
    train: Boolean(Number(r.train)),
    createdAt: iso(r.created_at)!,
    finishedAt: iso(r.finished_at),
  }));
  const more = items.rows.length > opts.limit;
  return { summary: sum, items: rows, nextCursor: more ? String(rows[rows.length - 1].id) : null };
}

function summarize(rows: Record<string, unknown>[]): QueueSummary {
  const byState: Record<string, number> = {};
  let oldest = 0;
  for (const r of rows) {
    byState[r.state as string] = Number(r.n);
    if (r.state === "pending" && r.oldest != null) oldest = Math.max(0, Math.round((Date.now() - Number(r.oldest)) / 1000));
  }
  return { byState, oldestPendingSeconds: oldest };
}

/** Training reports: a domain scope sees the reports of its tenant (the reporting account's domain). */
export async function trainingStatus(store: Store, scope: Scope, opts: { state?: string; kind?: string; limit: number; beforeId?: number }) {
  const tenant = scope.kind === "admin" ? null : scope.kind === "domain" ? scope.domain : null;
  if (scope.kind === "user") throw new Error("trainingStatus: user scope not supported");
  const base = tenant ? "t.tenant = ?" : "1";
  const baseArgs: InValue[] = tenant ? [tenant] : [];
  const where = [base];
  const args: InValue[] = [...baseArgs];
  if (opts.state) where.push("t.state = ?"), args.push(opts.state);
  if (opts.kind) where.push("t.kind = ?"), args.push(opts.kind);
  if (opts.beforeId) where.push("t.id < ?"), args.push(opts.beforeId);
  const [summary, items] = await store.client.batch(
    [
      { sql: `SELECT t.state, count(*) AS n, min(t.created_at) AS oldest FROM training_reports t WHERE ${base} GROUP BY t.state`, args: baseArgs },
      {
        sql: `SELECT t.id, t.kind, t.source, t.actor, t.message_id, t.tenant, t.state, t.attempts, t.last_error, t.created_at, t.finished_at
              FROM training_reports t WHERE ${where.join(" AND ")} ORDER BY t.id DESC LIMIT ?`,
        args: [...args, opts.limit + 1],
      },
    ],
    "read",
  );
  const rows = items.rows.slice(0, opts.limit).map((r) => ({
    id: Number(r.id),
    kind: r.kind as string,
    source: r.source as string,
    actor: r.actor as string,
    messageId: r.message_id == null ? null : Number(r.message_id),
    tenant: r.tenant as string,
    state: r.state as string,
    attempts: Number(r.attempts),
    lastError: (r.last_error as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    finishedAt: iso(r.finished_at),
  }));
  const more = items.rows.length > opts.limit;
  return { summary: summarize(summary.rows as unknown as Record<string, unknown>[]), items: rows, nextCursor: more ? String(rows[rows.length - 1].id) : null };
}

export interface AuditFilter {
  action?: string;
  actor?: string;
  messageId?: number;
  since?: number;
  until?: number;
  beforeId?: number;
}

/**
 * The audit log, newest first. A domain scope sees the entries that concern its domain, by what
 * they are about and never by who the actor is (a token name or a login can be reused by
 * another tenant, and an old admin login may look like a domain name):
 * - entries about a message of the domain (message_id);
 * - administrative entries whose detail names the domain (`domain`: domain.*, and account.*
 *   from the API, which record the account's domain; null for admin accounts);
 * - older account.* entries without `domain`: a user login of the domain, or the domain
 *   account itself when the entry recorded kind "domain";
 * - IMAP logins to the domain's accounts (the kind recorded at login), and failed logins
 *   with an address of the domain (admin logins never contain "@").
 */
export async function queryAudit(store: Store, scope: Scope, f: AuditFilter, limit: number) {
  const where: string[] = [];
  const args: InValue[] = [];
  if (scope.kind === "domain") {
    const d = scope.domain;
    const atDomain = `%@${d.replace(/[\\%_]/g, (c) => `\\${c}`)}`;
    const j = "(CASE WHEN json_valid(a.detail) THEN a.detail ELSE '{}' END)"; // json_* raise on malformed JSON
    where.push(`(EXISTS (SELECT 1 FROM messages m WHERE m.id = a.message_id AND m.recipient_domain = ?)
      OR (a.message_id IS NULL AND (
        (json_type(${j}, '$.domain') = 'text' AND json_extract(${j}, '$.domain') = ?)
        OR (a.action LIKE 'account.%' AND json_type(${j}, '$.domain') IS NULL
            AND (json_extract(${j}, '$.login') LIKE ? ESCAPE '\\'
                 OR (json_extract(${j}, '$.login') = ? AND json_extract(${j}, '$.kind') = 'domain')))
        OR (a.action LIKE 'login.%' AND ((a.actor_kind IN ('user', 'unknown') AND a.actor LIKE ? ESCAPE '\\') OR (a.actor_kind = 'domain' AND a.actor = ?)))
      )))`);
    args.push(d, d, atDomain, d, atDomain, d);
  } else if (scope.kind === "user") {
    throw new Error("queryAudit: user scope not supported");
  }
  if (f.action) {
    if (f.action.endsWith("*")) where.push("a.action LIKE ? ESCAPE '\\'"), args.push(f.action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`) + "%");
    else where.push("a.action = ?"), args.push(f.action);
  }
  if (f.actor) where.push("a.actor = ?"), args.push(f.actor);
  if (f.messageId !== undefined) where.push("a.message_id = ?"), args.push(f.messageId);
  if (f.since !== undefined) where.push("a.at >= ?"), args.push(f.since);
  if (f.until !== undefined) where.push("a.at < ?"), args.push(f.until);
  if (f.beforeId !== undefined) where.push("a.id < ?"), args.push(f.beforeId);
  const r = await store.client.execute({
    sql: `SELECT a.id, a.at, a.actor, a.actor_kind, a.client_addr, a.action, a.message_id, a.detail FROM audit a
          ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY a.id DESC LIMIT ?`,
    args: [...args, limit + 1],
  });
  const items = r.rows.slice(0, limit).map((row) => ({
    id: Number(row.id),
    at: iso(row.at)!,
    actor: row.actor as string,
    actorKind: row.actor_kind as string,
    clientAddr: (row.client_addr as string | null) ?? null,
    action: row.action as string,
    messageId: row.message_id == null ? null : Number(row.message_id),
    detail: safeJson(row.detail as string),
  }));
  return { items, nextCursor: r.rows.length > limit ? String(items[items.length - 1].id) : null };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return {};
  }
}

/** Appends an audit entry for an administrative change (domain, account, token) made outside a message action. */
export async function appendAudit(store: Store, entry: { actor: string; actorKind: string; clientAddr?: string | null; action: string; detail?: Record<string, unknown> }): Promise<void> {
  await store.client.execute({
    sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail) VALUES (?, ?, ?, ?, ?, NULL, ?)",
    args: [Date.now(), entry.actor, entry.actorKind, entry.clientAddr ?? null, entry.action, JSON.stringify(entry.detail ?? {})],
  });
}

/* ---------- operator overview: gauges, status page ---------- */

export interface Overview {
  messages: { state: string; direction: string; count: number; bytes: number }[];
  outbox: QueueSummary;
  training: QueueSummary;
  /** outbox rows due for more than `overdueMs` that nobody picked up */
  outboxOverdue: number;
  /** blobs whose word-index entry the word indexer has yet to build (quarantine/word-index.ts) */
  wordIndexQueued: number;
}

export async function overview(store: Store, overdueMs = 15 * 60_000): Promise<Overview> {
  const now = Date.now();
  const [m, o, t, od, wq] = await store.client.batch(
    [
      "SELECT state, direction, count(*) AS n, coalesce(sum(raw_size), 0) AS bytes FROM messages GROUP BY state, direction",
      "SELECT state, count(*) AS n, min(created_at) AS oldest FROM outbox GROUP BY state",
      "SELECT state, count(*) AS n, min(created_at) AS oldest FROM training_reports GROUP BY state",
      { sql: "SELECT count(*) AS n FROM outbox WHERE state = 'pending' AND next_attempt_at < ? AND (lease_until IS NULL OR lease_until < ?)", args: [now - overdueMs, now] },
      "SELECT count(*) AS n FROM word_index_queue",
    ],
    "read",
  );
  return {
    messages: m.rows.map((r) => ({ state: r.state as string, direction: r.direction as string, count: Number(r.n), bytes: Number(r.bytes) })),
    outbox: summarize(o.rows as unknown as Record<string, unknown>[]),
    training: summarize(t.rows as unknown as Record<string, unknown>[]),
    outboxOverdue: Number(od.rows[0].n),
    wordIndexQueued: Number(wq.rows[0].n),
  };
}

/** Caught / released / expired per UTC day for the last `days` days, oldest first. */
export async function dailyActivity(store: Store, days = 14, now = Date.now()): Promise<{ day: string; caught: number; released: number; expired: number }[]> {
  const today = Math.floor(now / 86400_000);
  const from = (today - days + 1) * 86400_000;
  const r = await store.client.execute({
    sql: `SELECT a.at / 86400000 AS d,
            sum(CASE WHEN a.action = 'ingest' THEN 1 ELSE 0 END) AS caught,
            sum(CASE WHEN a.action IN ('release', 'release-train') OR (a.action = 'not-spam' AND a.message_id IS NOT NULL AND json_extract(a.detail, '$.upload') IS NULL) THEN 1 ELSE 0 END) AS released,
            sum(CASE WHEN a.action = 'expire' THEN 1 ELSE 0 END) AS expired
          FROM audit a WHERE a.at >= ? AND a.action IN ('ingest', 'release', 'release-train', 'not-spam', 'expire') GROUP BY d`,
    args: [from],
  });
  const byDay = new Map(r.rows.map((row) => [Number(row.d), row]));
  const out = [];
  for (let d = today - days + 1; d <= today; d++) {
    const row = byDay.get(d);
    out.push({ day: new Date(d * 86400_000).toISOString().slice(0, 10), caught: Number(row?.caught ?? 0), released: Number(row?.released ?? 0), expired: Number(row?.expired ?? 0) });
  }
  return out;
}
