/**
 * What users do to quarantined messages: release (optionally training the filter), report,
 * delete, and change their own flags. Each call is one write transaction that changes the
 * rows, queues the follow-up work (outbox, training report), appends to the change log and
 * writes the audit log, so the action is durable when the call returns.
 */
import { createHash } from "node:crypto";
import type { Transaction } from "@libsql/client";
import { inWriteTransaction, type Store } from "../storage/db.ts";
import { flagBit } from "./mailbox.ts";
import { prepare } from "./ingest.ts";
import { scopeFilter, tenantOf, type Direction, type Scope } from "./scope.ts";

export interface Actor {
  scope: Scope;
  clientAddr?: string | null;
  /** "imap", "api", ... for the audit log */
  via: string;
}

export type ReleaseKind = "release" | "release-train" | "not-spam";

export class ActionError extends Error {
  constructor(message: string, readonly code: "LIMIT" | "NONEXISTENT" | "INVALID" | "UNAVAILABLE" = "INVALID") {
    super(message);
  }
}

interface RowInfo {
  id: number;
  blobId: number;
  recipient: string;
  domain: string;
  direction: Direction;
}

/** Rows of the scope among `ids` that are still in Caught, read under the write lock. */
async function caughtRows(tx: Transaction, scope: Scope, ids: number[], releasable = false): Promise<RowInfo[]> {
  const f = scopeFilter(scope);
  const out: RowInfo[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const r = await tx.execute({
      sql: `SELECT m.id, m.blob_id, m.recipient, m.recipient_domain, m.direction FROM messages m
            WHERE m.id IN (${chunk.map(() => "?").join(",")}) AND m.state = 'caught' AND ${f.sql}${releasable ? " AND m.direction != 'train'" : ""}`,
      args: [...chunk, ...f.args],
    });
    for (const row of r.rows) {
      out.push({ id: Number(row.id), blobId: Number(row.blob_id), recipient: row.recipient as string, domain: row.recipient_domain as string, direction: row.direction as Direction });
    }
  }
  return out;
}

async function leaveCaught(tx: Transaction, rows: RowInfo[], state: "releasing" | "deleted" | "expired", now: number): Promise<void> {
  for (const row of rows) {
    const c = await tx.execute({
      sql: "INSERT INTO changes (message_id, kind, recipient, recipient_domain, direction, at) VALUES (?, 'remove', ?, ?, ?, ?) RETURNING modseq",
      args: [row.id, row.recipient, row.domain, row.direction, now],
    });
    await tx.execute({
      sql: "UPDATE messages SET state = ?, modseq = ?, state_changed_at = ? WHERE id = ?",
      args: [state, Number(c.rows[0].modseq), now, row.id],
    });
  }
}

async function audit(tx: Transaction, actor: Actor, action: string, messageId: number | null, detail: Record<string, unknown>, now: number): Promise<void> {
  await tx.execute({
    sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
    args: [now, actor.scope.login, actor.scope.kind, actor.clientAddr ?? null, action, messageId, JSON.stringify({ via: actor.via, ...detail })],
  });
}

export interface ReportLimits {
  reportsPerHourPerTenant: number;
}

/** Queues a training report (durable); the same kind of report on the same bytes trains once. */
async function queueReport(
  tx: Transaction,
  actor: Actor,
  kind: "spam" | "ham",
  source: string,
  blobId: number,
  sha256: string,
  messageId: number | null,
  now: number,
): Promise<{ id: number; duplicate: boolean }> {
  const dedupeKey = `${kind}:${sha256}`;
  const dup = await tx.execute({ sql: "SELECT 1 FROM training_reports WHERE dedupe_key = ? AND state != 'duplicate' LIMIT 1", args: [dedupeKey] });
  const duplicate = dup.rows.length > 0;
  const r = await tx.execute({
    sql: `INSERT INTO training_reports (kind, source, account_id, actor, client_addr, message_id, blob_id, dedupe_key, tenant, state, next_attempt_at, created_at)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    args: [kind, source, actor.scope.accountId, actor.scope.login, actor.clientAddr ?? null, messageId, blobId, dedupeKey, tenantOf(actor.scope), duplicate ? "duplicate" : "pending", now, now],
  });
  return { id: Number(r.rows[0].id), duplicate };
}

async function checkReportRate(tx: Transaction, actor: Actor, limits: ReportLimits | undefined, count: number, now: number): Promise<void> {
  if (!limits || actor.scope.kind === "admin") return;
  const r = await tx.execute({ sql: "SELECT count(*) AS n FROM training_reports WHERE tenant = ? AND created_at > ?", args: [tenantOf(actor.scope), now - 3600_000] });
  if (Number(r.rows[0].n) + count > limits.reportsPerHourPerTenant) {
    throw new ActionError(`training reports limited to ${limits.reportsPerHourPerTenant} per hour for ${tenantOf(actor.scope)}`, "LIMIT");
  }
}

async function blobHashes(tx: Transaction, blobIds: number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  const uniq = [...new Set(blobIds)];
  for (let i = 0; i < uniq.length; i += 500) {
    const chunk = uniq.slice(i, i + 500);
    const r = await tx.execute({ sql: `SELECT id, sha256 FROM blobs WHERE id IN (${chunk.map(() => "?").join(",")})`, args: chunk });
    for (const row of r.rows) out.set(Number(row.id), row.sha256 as string);
  }
  return out;
}

/** How release delivery is set up (config smtp): without a smarthost every domain needs a route. */
export interface DeliverySetup {
  smarthost: boolean;
}

/** Refuses a release that could never be delivered: a recipient domain without a route and no smarthost. */
async function checkRoutes(tx: Transaction, rows: RowInfo[], delivery: DeliverySetup | undefined): Promise<void> {
  if (!delivery || delivery.smarthost) return;
  const domains = [...new Set(rows.map((r) => r.domain))];
  const routed = new Set<string>();
  for (let i = 0; i < domains.length; i += 500) {
    const chunk = domains.slice(i, i + 500);
    const r = await tx.execute({ sql: `SELECT name FROM domains WHERE name IN (${chunk.map(() => "?").join(",")}) AND coalesce(route, '') != ''`, args: chunk });
    for (const row of r.rows) routed.add(row.name as string);
  }
  const missing = domains.filter((d) => !routed.has(d));
  if (missing.length) {
    throw new ActionError(`Release is not set up for ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", ..." : ""}: no delivery route and no smarthost; ask the administrator`, "UNAVAILABLE");
  }
}

/**
 * Release: the rows leave Caught (state releasing) with an outbox row each; with training
 * (release-train, not-spam) a ham report too. UIDs already gone are skipped, not an error.
 * With `delivery` given, a release that has nowhere to go is refused (ActionError UNAVAILABLE)
 * and the messages stay in Caught. Returns the UIDs acted on.
 */
export async function release(store: Store, actor: Actor, ids: number[], kind: ReleaseKind, limits?: ReportLimits, delivery?: DeliverySetup): Promise<number[]> {
  if (ids.length === 0) return [];
  const now = Date.now();
  return inWriteTransaction(store, async (tx) => {
    // a Training Requested copy was delivered already: it is never released (copy.ts reports it instead)
    const rows = await caughtRows(tx, actor.scope, ids, true);
    if (rows.length === 0) return [];
    await checkRoutes(tx, rows, delivery);
    const train = kind !== "release";
    if (train) await checkReportRate(tx, actor, limits, rows.length, now);
    await leaveCaught(tx, rows, "releasing", now);
    const hashes = train ? await blobHashes(tx, rows.map((r) => r.blobId)) : new Map<number, string>();
    for (const row of rows) {
      await tx.execute({
        sql: "INSERT INTO outbox (message_id, state, next_attempt_at, requested_by, train, created_at) VALUES (?, 'pending', ?, ?, ?, ?)",
        args: [row.id, now, actor.scope.login, train ? 1 : 0, now],
      });
      let report: { id: number; duplicate: boolean } | undefined;
      if (train) report = await queueReport(tx, actor, "ham", kind, row.blobId, hashes.get(row.blobId)!, row.id, now);
      await audit(tx, actor, kind, row.id, { recipient: row.recipient, trained: train && !report?.duplicate, report: report?.id }, now);
    }
    return rows.map((r) => r.id);
  });
}

/** Removes rows from the quarantine (Trash, EXPUNGE of \Deleted, API delete). */
export async function remove(store: Store, actor: Actor, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const now = Date.now();
  return inWriteTransaction(store, async (tx) => {
    const rows = await caughtRows(tx, actor.scope, ids);
    await leaveCaught(tx, rows, "deleted", now);
    for (const row of rows) await audit(tx, actor, "delete", row.id, { recipient: row.recipient }, now);
    return rows.map((r) => r.id);
  });
}

/** Reports quarantined rows as spam (they stay in Caught; a MOVE's expunge then deletes them). */
export async function reportSpam(store: Store, actor: Actor, ids: number[], limits?: ReportLimits): Promise<number[]> {
  return report(store, actor, ids, "spam", limits);
}

/** Reports rows as spam or ham without releasing anything (Training Requested copies, Spam). */
export async function report(store: Store, actor: Actor, ids: number[], kind: "spam" | "ham", limits?: ReportLimits): Promise<number[]> {
  if (ids.length === 0) return [];
  const now = Date.now();
  return inWriteTransaction(store, async (tx) => {
    const rows = await caughtRows(tx, actor.scope, ids);
    await checkReportRate(tx, actor, limits, rows.length, now);
    const hashes = await blobHashes(tx, rows.map((r) => r.blobId));
    for (const row of rows) {
      const queued = await queueReport(tx, actor, kind, kind === "spam" ? "spam" : "not-spam", row.blobId, hashes.get(row.blobId)!, row.id, now);
      await audit(tx, actor, kind === "spam" ? "spam" : "not-spam", row.id, { recipient: row.recipient, trained: !queued.duplicate, report: queued.id }, now);
    }
    return rows.map((r) => r.id);
  });
}

/**
 * A message APPENDed to Spam or Not Spam: stored as a blob (no quarantine row), matched to a
 * quarantined message of the scope by content hash or Message-ID, and queued as a report.
 */
export async function reportUpload(store: Store, actor: Actor, kind: "spam" | "ham", raw: Uint8Array, limits?: ReportLimits): Promise<{ reportId: number; matched: number | null; duplicate: boolean }> {
  const p = prepare({ raw, recipients: ["report@invalid.invalid"] });
  const now = Date.now();
  // Store the blob through the ingest path (dedupe by hash), without a quarantine row.
  const blobId = await storeBlobOnly(store, p);
  return inWriteTransaction(store, async (tx) => {
    await checkReportRate(tx, actor, limits, 1, now);
    const f = scopeFilter(actor.scope);
    const match = await tx.execute({
      sql: `SELECT m.id FROM messages m JOIN blobs b ON b.id = m.blob_id
            WHERE (m.blob_id = ? OR (b.h_message_id != '' AND b.h_message_id = ?)) AND ${f.sql} ORDER BY m.id DESC LIMIT 1`,
      args: [blobId, p.fields.messageId, ...f.args],
    });
    const matched = match.rows[0] ? Number(match.rows[0].id) : null;
    const report = await queueReport(tx, actor, kind, kind === "spam" ? "append-spam" : "append-ham", blobId, p.sha256, matched, now);
    await audit(tx, actor, kind === "spam" ? "spam" : "not-spam", matched, { upload: true, matched: matched !== null, trained: !report.duplicate, report: report.id }, now);
    return { reportId: report.id, matched, duplicate: report.duplicate };
  });
}

async function storeBlobOnly(store: Store, p: ReturnType<typeof prepare>): Promise<number> {
  const existing = await store.client.execute({ sql: "SELECT id FROM blobs WHERE sha256 = ?", args: [p.sha256] });
  if (existing.rows[0]) return Number(existing.rows[0].id);
  const f = p.fields;
  const tx = await store.client.transaction("write");
  try {
    const again = await tx.execute({ sql: "SELECT id FROM blobs WHERE sha256 = ?", args: [p.sha256] });
    if (again.rows[0]) {
      await tx.commit();
      return Number(again.rows[0].id);
    }
    const r = await tx.execute({
      sql: `INSERT INTO blobs (sha256, raw_size, data, h_from, h_to, h_cc, h_bcc, h_subject, h_message_id, h_date, h_date_day, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      args: [p.sha256, p.size, p.stored, f.from, f.to, f.cc, f.bcc, f.subject, f.messageId, f.date, f.dateDay, Date.now()],
    });
    await tx.commit();
    return Number(r.rows[0].id);
  } finally {
    tx.close();
  }
}

export type StoreMode = "set" | "add" | "remove";

/**
 * Keyword limits (RFC 5530 LIMIT): every SELECT, sync and FETCH FLAGS carries a message's
 * keywords, and clients use a handful ($Junk, $Forwarded, $label1, a few tags).
 */
export const MAX_KEYWORDS_PER_MESSAGE = 64;
export const MAX_KEYWORD_LENGTH = 128;

/** Keywords once each, case-insensitively (as IMAP compares flags), keeping the first spelling. */
function distinctKeywords(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((k) => {
    const key = k.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Sets an account's flags on rows of its scope. Returns the new state of each row changed
 * (rows whose flags did not change are omitted, except with `all`). With unchangedSince,
 * rows modified after it are reported in `failed` (CONDSTORE MODIFIED).
 * Setting a keyword over MAX_KEYWORD_LENGTH, or leaving a row with more than
 * MAX_KEYWORDS_PER_MESSAGE, changes nothing and throws ActionError LIMIT.
 */
export async function storeFlags(
  store: Store,
  scope: Scope,
  ids: number[],
  mode: StoreMode,
  flags: string[],
  unchangedSince?: number,
): Promise<{ changed: Map<number, { bits: number; keywords?: string[]; modseq: number }>; failed: number[] }> {
  let bitsArg = 0;
  const keywords: string[] = [];
  for (const f of flags) {
    const bit = flagBit(f);
    if (bit) bitsArg |= bit;
    else if (!f.startsWith("\\")) keywords.push(f);
  }
  if (mode !== "remove") {
    if (keywords.some((k) => k.length > MAX_KEYWORD_LENGTH)) throw new ActionError(`Keywords are limited to ${MAX_KEYWORD_LENGTH} characters`, "LIMIT");
    if (distinctKeywords(keywords).length > MAX_KEYWORDS_PER_MESSAGE) throw tooManyKeywords();
  }
  const changed = new Map<number, { bits: number; keywords?: string[]; modseq: number }>();
  const failed: number[] = [];
  if (ids.length === 0) return { changed, failed };
  const now = Date.now();
  await inWriteTransaction(store, async (tx) => {
    const f = scopeFilter(scope);
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const r = await tx.execute({
        sql: `SELECT m.id, m.recipient, m.recipient_domain, m.direction, m.modseq AS mmod, fl.flags, fl.keywords, fl.modseq AS fmod
              FROM messages m LEFT JOIN message_flags fl ON fl.message_id = m.id AND fl.account_id = ?
              WHERE m.id IN (${chunk.map(() => "?").join(",")}) AND ${f.sql}`,
        args: [scope.accountId, ...chunk, ...f.args],
      });
      for (const row of r.rows) {
        const id = Number(row.id);
        const oldBits = Number(row.flags ?? 0);
        const oldKw: string[] = row.keywords ? JSON.parse(row.keywords as string) : [];
        const curModseq = Math.max(Number(row.mmod), Number(row.fmod ?? 0));
        if (unchangedSince !== undefined && curModseq > unchangedSince) {
          failed.push(id);
          continue;
        }
        let bits = oldBits;
        let kw = oldKw;
        if (mode === "set") {
          bits = bitsArg;
          kw = distinctKeywords(keywords);
        } else if (mode === "add") {
          bits = oldBits | bitsArg;
          kw = distinctKeywords([...oldKw, ...keywords]);
          // the whole STORE is refused (the transaction rolls back), not applied to some rows
          if (kw.length > MAX_KEYWORDS_PER_MESSAGE && kw.length > oldKw.length) throw tooManyKeywords();
        } else {
          bits = oldBits & ~bitsArg;
          const drop = new Set(keywords.map((k) => k.toLowerCase()));
          kw = oldKw.filter((k) => !drop.has(k.toLowerCase()));
        }
        if (bits === oldBits && kw.length === oldKw.length && kw.every((k, j) => k === oldKw[j])) continue;
        const c = await tx.execute({
          sql: "INSERT INTO changes (message_id, kind, recipient, recipient_domain, direction, account_id, at) VALUES (?, 'flags', ?, ?, ?, ?, ?) RETURNING modseq",
          args: [id, row.recipient as string, row.recipient_domain as string, row.direction as string, scope.accountId, now],
        });
        const modseq = Number(c.rows[0].modseq);
        await tx.execute({
          sql: `INSERT INTO message_flags (account_id, message_id, flags, keywords, modseq) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(account_id, message_id) DO UPDATE SET flags = excluded.flags, keywords = excluded.keywords, modseq = excluded.modseq`,
          args: [scope.accountId, id, bits, kw.length ? JSON.stringify(kw) : null, modseq],
        });
        changed.set(id, { bits, keywords: kw.length ? kw : undefined, modseq });
      }
    }
  });
  return { changed, failed };
}

function tooManyKeywords(): ActionError {
  return new ActionError(`A message can have at most ${MAX_KEYWORDS_PER_MESSAGE} keywords`, "LIMIT");
}

export function sha256Hex(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
