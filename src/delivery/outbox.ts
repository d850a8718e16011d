/**
 * The release outbox worker. release() (src/quarantine/actions.ts) leaves a row in state
 * `releasing` with an `outbox` row in the same transaction; this worker
 *
 *  1. leases due outbox rows with one guarded UPDATE (… WHERE lease_until IS NULL OR
 *     lease_until < now), so several processes sharing a database never take the same row;
 *  2. delivers the original bytes over SMTP to the route of the recipient's domain, with one
 *     trace header prepended, envelope sender and recipient from the quarantine row;
 *  3. records every outcome (group commit: the outcomes that finish while a write is running
 *     go into the next transaction together):
 *       250        → message `released`, outbox `done`, audit `release.delivered`
 *       4xx / net  → attempts, next_attempt_at with exponential backoff, audit `release.retry`;
 *                    past smtp.maxRetryAgeSeconds it counts as permanent
 *       5xx        → outbox `failed` with the reply; the message comes back to Caught as a
 *                    NEW row (new id = new UID, above every client's UIDNEXT) carrying the
 *                    reply in last_error; the old row becomes `deleted` with the same
 *                    last_error; audit `release.failed` names both ids.
 *
 * A delivery is recorded only after the server's 250, so a process killed at any point
 * delivers each message at least once: a row whose lease ran out is due again. A clean
 * stop hands its unfinished leases back at once.
 */
import { hostname } from "node:os";
import type { Transaction } from "@libsql/client";
import type { Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { Mailbox } from "../quarantine/mailbox.ts";
import { markKeysForRow, type Direction } from "../quarantine/scope.ts";
import { inWriteTransaction, type Store } from "../storage/db.ts";
import { backoffMs, newOwnerId, oneLine, PollLoop, type LeasedWorkerTuning } from "./loop.ts";
import { resolveRoute, routeLabel, SmtpClient, type ResolvedRoute, type SendOutcome } from "./smtp.ts";

export interface OutboxWorkerOptions extends LeasedWorkerTuning {
  store: Store;
  config: Config;
  now?: () => number;
}

interface Claimed {
  outboxId: number;
  messageId: number;
  attempts: number;
  createdAt: number;
  requestedBy: string;
}

interface Outcome {
  job: Claimed;
  result: SendOutcome;
  route?: string;
  /** the quarantine row did not exist / was not releasing: nothing was sent */
  vanished?: boolean;
}

export interface OutboxStats {
  delivered: number;
  retried: number;
  failed: number;
}

/** The trace header prepended to a released message (one line, no folding needed). */
export function traceHeader(name: string, info: { messageId: number; requestedBy: string; at: number; host: string }): string {
  const clean = (s: string) => s.replace(/[^\x21-\x7e]/g, "");
  return `${name}: from quarantine id=${info.messageId} by=${clean(info.requestedBy) || "unknown"} host=${clean(info.host)}; ${new Date(info.at).toUTCString().replace("GMT", "+0000")}\r\n`;
}

export class OutboxWorker {
  readonly owner: string;
  readonly stats: OutboxStats = { delivered: 0, retried: 0, failed: 0 };
  private readonly store: Store;
  private readonly config: Config;
  private readonly mailbox: Mailbox;
  private readonly smtp: SmtpClient;
  private readonly loop: PollLoop;
  private readonly leaseMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxRetryAgeMs: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly host = hostname();
  private inflight = 0;
  private readonly inflightDone = new Set<Promise<void>>();
  private outcomes: Outcome[] = [];
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private dead = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: OutboxWorkerOptions) {
    this.store = opts.store;
    this.config = opts.config;
    this.owner = opts.owner ?? newOwnerId("outbox");
    const s = opts.config.smtp;
    this.leaseMs = opts.leaseMs ?? s.leaseSeconds * 1000;
    this.retryBaseMs = opts.retryBaseMs ?? s.retryBaseSeconds * 1000;
    this.retryMaxMs = opts.retryMaxMs ?? s.retryMaxSeconds * 1000;
    this.maxRetryAgeMs = opts.maxRetryAgeMs ?? s.maxRetryAgeSeconds * 1000;
    this.concurrency = opts.concurrency ?? s.concurrency;
    this.now = opts.now ?? Date.now;
    this.mailbox = new Mailbox(this.store);
    this.smtp = new SmtpClient({
      heloName: s.heloName,
      maxConnections: Math.max(1, this.concurrency),
      connectionTimeoutMs: s.timeoutSeconds * 1000,
      socketTimeoutMs: s.timeoutSeconds * 1000,
    });
    this.loop = new PollLoop(() => this.pump(), opts.pollMs ?? 500, (e) => log("error", "outbox.poll_failed", { error: String(e) }));
  }

  start(): this {
    this.stopped = false;
    this.loop.start();
    return this;
  }

  /** Something was queued: look at the outbox now instead of at the next poll. */
  kick(): void {
    this.loop.kick();
  }

  /** Leases as many due rows as there are free delivery slots and starts them. */
  private async pump(): Promise<boolean> {
    const free = this.concurrency - this.inflight;
    if (this.stopped || free <= 0) return false;
    const jobs = await this.claim(free);
    for (const job of jobs) {
      this.inflight++;
      const p: Promise<void> = this.deliver(job)
        .then((o) => this.record(o))
        .catch((e) => log("error", "outbox.delivery_crashed", { outbox: job.outboxId, error: String(e) }))
        .finally(() => {
          this.inflight--;
          this.inflightDone.delete(p);
          if (!this.stopped) this.loop.kick();
          this.checkIdle();
        });
      this.inflightDone.add(p);
    }
    if (jobs.length === 0) this.checkIdle();
    // More due rows may be waiting when every free slot was filled; the completions kick.
    return false;
  }

  /** The guarded lease: a row is taken only when nobody holds a live lease on it. */
  private async claim(limit: number): Promise<Claimed[]> {
    const now = this.now();
    const r = await this.store.client.execute({
      sql: `UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
            WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?
                         AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?)
              AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?)
            RETURNING id, message_id, attempts, created_at, requested_by`,
      args: [this.owner, now + this.leaseMs, now, now, limit, now],
    });
    return r.rows.map((row) => ({
      outboxId: Number(row.id),
      messageId: Number(row.message_id),
      attempts: Number(row.attempts),
      createdAt: Number(row.created_at),
      requestedBy: String(row.requested_by),
    }));
  }

  private async deliver(job: Claimed): Promise<Outcome> {
    const r = await this.store.client.execute({
      sql: `SELECT m.blob_id, m.recipient, m.sender, m.state, d.route, d.options
            FROM messages m LEFT JOIN domains d ON d.name = m.recipient_domain WHERE m.id = ?`,
      args: [job.messageId],
    });
    const row = r.rows[0];
    if (!row || row.state !== "releasing") {
      return { job, vanished: true, result: { kind: "permanent", reply: `quarantine row ${job.messageId} is ${row ? row.state : "gone"}; nothing sent` } };
    }
    let route: ResolvedRoute | undefined;
    try {
      route = resolveRoute(row.route as string | null, row.options as string | null, this.config.smtp.smarthost);
    } catch {
      route = undefined;
    }
    if (!route) {
      const reply = row.route ? `invalid route ${JSON.stringify(row.route)} for the recipient's domain` : "no route: the recipient's domain has none and no smarthost is configured";
      return { job, result: { kind: "temporary", reply } };
    }
    const bytes = await this.mailbox.blobBytes(Number(row.blob_id));
    if (!bytes) return { job, vanished: true, result: { kind: "permanent", reply: `message bytes of row ${job.messageId} are gone; nothing sent` } };
    const head = new TextEncoder().encode(traceHeader(this.config.smtp.traceHeader, { messageId: job.messageId, requestedBy: job.requestedBy, at: this.now(), host: this.config.hostname || this.host }));
    const raw = new Uint8Array(head.length + bytes.length);
    raw.set(head, 0);
    raw.set(bytes, head.length);
    const result = await this.smtp.send(route, { from: String(row.sender ?? ""), to: String(row.recipient) }, raw);
    return { job, result, route: `${route.source} ${routeLabel(route)}` };
  }

  /** Queues an outcome for the next group commit and makes sure one is running. */
  private record(o: Outcome): Promise<void> {
    if (this.dead) return Promise.resolve();
    this.outcomes.push(o);
    return this.flush();
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => (this.outcomes.length ? this.flush() : undefined));
    if (this.outcomes.length === 0) return Promise.resolve();
    const batch = this.outcomes;
    this.outcomes = [];
    this.flushing = this.commit(batch)
      .catch((e) => {
        // The deliveries happened; if the write failed, their leases run out and they are
        // delivered again (at least once). Log loudly.
        log("error", "outbox.record_failed", { error: String(e), outbox: batch.map((o) => o.job.outboxId) });
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing.then(() => (this.outcomes.length ? this.flush() : undefined));
  }

  private async commit(batch: Outcome[]): Promise<void> {
    const now = this.now();
    const events: [string, Record<string, unknown>][] = [];
    await inWriteTransaction(this.store, async (tx) => {
      for (const o of batch) {
        const { job, result } = o;
        let kind = result.kind;
        let reply = result.reply;
        if (kind === "temporary" && now - job.createdAt >= this.maxRetryAgeMs) {
          kind = "permanent";
          reply = oneLine(`gave up after ${job.attempts} attempts in ${Math.round((now - job.createdAt) / 1000)} s: ${reply}`);
        }
        if (kind === "delivered") {
          const u = await tx.execute({
            sql: "UPDATE outbox SET state = 'done', last_reply = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
            args: [reply, now, job.outboxId],
          });
          if (u.rowsAffected === 0) continue; // another process recorded it already
          await tx.execute({
            sql: "UPDATE messages SET state = 'released', state_changed_at = ?, last_error = NULL WHERE id = ? AND state = 'releasing'",
            args: [now, job.messageId],
          });
          await this.audit(tx, "release.delivered", job.messageId, { outbox: job.outboxId, attempts: job.attempts, reply, route: o.route }, now);
          this.stats.delivered++;
          events.push(["release.delivered", { message: job.messageId, outbox: job.outboxId, attempts: job.attempts, route: o.route }]);
        } else if (kind === "temporary") {
          const next = now + backoffMs(job.attempts, this.retryBaseMs, this.retryMaxMs);
          const u = await tx.execute({
            sql: `UPDATE outbox SET next_attempt_at = ?, last_reply = ?, lease_owner = NULL, lease_until = NULL
                  WHERE id = ? AND state = 'pending' AND lease_owner = ?`,
            args: [next, reply, job.outboxId, this.owner],
          });
          if (u.rowsAffected === 0) continue; // the lease went to someone else meanwhile
          await this.audit(tx, "release.retry", job.messageId, { outbox: job.outboxId, attempts: job.attempts, reply, route: o.route, nextAttemptAt: next }, now);
          this.stats.retried++;
          events.push(["release.retry", { message: job.messageId, outbox: job.outboxId, attempts: job.attempts, reply, next: new Date(next).toISOString() }]);
        } else {
          const u = await tx.execute({
            sql: "UPDATE outbox SET state = 'failed', last_reply = ?, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
            args: [reply, now, job.outboxId],
          });
          if (u.rowsAffected === 0) continue;
          const newId = o.vanished ? null : await this.returnToCaught(tx, job.messageId, reply, now);
          await this.audit(tx, "release.failed", job.messageId, { outbox: job.outboxId, attempts: job.attempts, reply, route: o.route, returnedAs: newId }, now);
          if (newId !== null) await this.audit(tx, "release.returned", newId, { originalId: job.messageId, outbox: job.outboxId, reply }, now);
          this.stats.failed++;
          events.push(["release.failed", { message: job.messageId, returnedAs: newId, outbox: job.outboxId, reply }]);
        }
      }
    });
    for (const [event, fields] of events) log(event === "release.delivered" ? "info" : "warn", event, fields);
  }

  /**
   * The permanent-failure path: a copy of the row enters Caught with a new id (clients only
   * look above their UIDNEXT for new mail), exactly like ingest adds one: change-log `add`,
   * UID marks raised. The old row is closed as `deleted`, both carrying the reply.
   */
  private async returnToCaught(tx: Transaction, oldId: number, reply: string, now: number): Promise<number | null> {
    const old = await tx.execute({ sql: "SELECT state, recipient, recipient_domain, direction FROM messages WHERE id = ?", args: [oldId] });
    const row = old.rows[0];
    if (!row || row.state !== "releasing") return null;
    const ins = await tx.execute({
      sql: `INSERT INTO messages (blob_id, direction, recipient, recipient_domain, sender, score, reason, state, received_at, expires_at, modseq, raw_size, last_error, state_changed_at)
            SELECT blob_id, direction, recipient, recipient_domain, sender, score, reason, 'caught', received_at, expires_at, 0, raw_size, ?, ?
            FROM messages WHERE id = ? RETURNING id`,
      args: [reply, now, oldId],
    });
    const newId = Number(ins.rows[0].id);
    const recipient = String(row.recipient);
    const domain = String(row.recipient_domain);
    const direction = String(row.direction) as Direction;
    const c = await tx.execute({
      sql: "INSERT INTO changes (message_id, kind, recipient, recipient_domain, direction, at) VALUES (?, 'add', ?, ?, ?, ?) RETURNING modseq",
      args: [newId, recipient, domain, direction, now],
    });
    await tx.execute({ sql: "UPDATE messages SET modseq = ? WHERE id = ?", args: [Number(c.rows[0].modseq), newId] });
    for (const key of markKeysForRow(recipient, domain, direction)) {
      await tx.execute({
        sql: "INSERT INTO uid_marks (scope, uid_next) VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET uid_next = max(uid_next, excluded.uid_next)",
        args: [key, newId + 1],
      });
    }
    await tx.execute({ sql: "UPDATE messages SET state = 'deleted', last_error = ?, state_changed_at = ? WHERE id = ?", args: [reply, now, oldId] });
    return newId;
  }

  private async audit(tx: Transaction, action: string, messageId: number, detail: Record<string, unknown>, now: number): Promise<void> {
    await tx.execute({
      sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail) VALUES (?, 'system', 'system', NULL, ?, ?, ?)",
      args: [now, action, messageId, JSON.stringify(detail)],
    });
  }

  private checkIdle(): void {
    if (this.inflight === 0 && !this.flushing && this.outcomes.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Resolves when nothing is in flight (tests, benchmarks). */
  whenIdle(): Promise<void> {
    if (this.inflight === 0 && !this.flushing && this.outcomes.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /**
   * Stops leasing, lets in-flight deliveries finish and be recorded, hands back any lease it
   * still holds (so another process or the next start takes the rows at once) and closes the
   * SMTP connections.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
    await Promise.allSettled([...this.inflightDone]);
    await this.flush();
    await this.store.client
      .execute({ sql: "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND state = 'pending'", args: [this.owner] })
      .catch(() => {});
    this.smtp.close();
  }

  /**
   * Simulates a process that dies: stops at once without recording or handing back anything
   * (tests only). Rows it leased stay leased until their lease runs out.
   */
  abandon(): void {
    this.stopped = true;
    this.dead = true;
    void this.loop.stop();
    this.smtp.close();
  }
}
