/**
 * The training worker: leases `training_reports` rows in state `pending` (the same guarded
 * UPDATE as the outbox, so several processes never forward one report twice in normal
 * operation), forwards each to the configured sink, and records the outcome on the row:
 * done, or attempts + last_error + next_attempt_at (exponential backoff), failed after
 * training.maxRetryAgeSeconds. Duplicates were marked `duplicate` at queue time and are
 * never leased. A sink that is down loses nothing: the rows wait.
 */
import type { Config } from "../config/index.ts";
import { backoffMs, newOwnerId, oneLine, PollLoop, type LeasedWorkerTuning } from "../delivery/loop.ts";
import { log } from "../observability/log.ts";
import { decodeMessage } from "../storage/codec.ts";
import type { Store } from "../storage/db.ts";
import { sinkFromConfig, type ReportPayload, type Sink, type SinkResult } from "./sinks.ts";

export interface TrainingWorkerOptions extends LeasedWorkerTuning {
  store: Store;
  config: Config;
  /** default: from config.training.sink */
  sink?: Sink;
}

export class TrainingWorker {
  readonly owner: string;
  readonly sink: Sink;
  readonly stats = { done: 0, retried: 0, failed: 0 };
  private readonly store: Store;
  private readonly loop: PollLoop;
  private readonly leaseMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly maxRetryAgeMs: number;
  private readonly concurrency: number;
  private busy: Promise<unknown> | undefined;

  constructor(opts: TrainingWorkerOptions) {
    const t = opts.config.training;
    this.store = opts.store;
    this.sink = opts.sink ?? sinkFromConfig(opts.config);
    this.owner = opts.owner ?? newOwnerId("training");
    this.leaseMs = opts.leaseMs ?? t.leaseSeconds * 1000;
    this.retryBaseMs = opts.retryBaseMs ?? t.retryBaseSeconds * 1000;
    this.retryMaxMs = opts.retryMaxMs ?? t.retryMaxSeconds * 1000;
    this.maxRetryAgeMs = opts.maxRetryAgeMs ?? t.maxRetryAgeSeconds * 1000;
    this.concurrency = opts.concurrency ?? t.concurrency;
    this.loop = new PollLoop(() => this.tick(), opts.pollMs ?? 500, (e) => log("error", "training.poll_failed", { error: String(e) }));
  }

  start(): this {
    this.loop.start();
    return this;
  }

  kick(): void {
    this.loop.kick();
  }

  /** Leases up to `concurrency` due reports, forwards them, records each; true when more may be due. */
  async tick(): Promise<boolean> {
    const now = Date.now();
    const claimed = await this.store.client.execute({
      sql: `UPDATE training_reports SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
            WHERE id IN (SELECT id FROM training_reports WHERE state = 'pending' AND next_attempt_at <= ?
                         AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at, id LIMIT ?)
              AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?)
            RETURNING id`,
      args: [this.owner, now + this.leaseMs, now, now, this.concurrency, now],
    });
    const ids = claimed.rows.map((r) => Number(r.id));
    if (ids.length === 0) return false;
    const work = Promise.all(ids.map((id) => this.forward(id).catch((e) => log("error", "training.forward_crashed", { report: id, error: String(e) }))));
    this.busy = work;
    await work;
    return ids.length === this.concurrency;
  }

  private async forward(id: number): Promise<void> {
    const r = await this.store.client.execute({
      sql: `SELECT t.*, b.data, b.sha256, m.recipient, m.sender
            FROM training_reports t JOIN blobs b ON b.id = t.blob_id LEFT JOIN messages m ON m.id = t.message_id
            WHERE t.id = ?`,
      args: [id],
    });
    const row = r.rows[0];
    if (!row) return;
    let result: SinkResult;
    try {
      const payload: ReportPayload = {
        id,
        kind: row.kind as "spam" | "ham",
        source: String(row.source),
        actor: String(row.actor),
        accountId: row.account_id === null ? null : Number(row.account_id),
        clientAddr: (row.client_addr as string | null) ?? null,
        tenant: String(row.tenant),
        messageId: row.message_id === null ? null : Number(row.message_id),
        recipient: (row.recipient as string | null) ?? null,
        sender: (row.sender as string | null) ?? null,
        sha256: String(row.sha256),
        createdAt: Number(row.created_at),
        raw: decodeMessage(row.data as ArrayBuffer),
      };
      result = await this.sink.send(payload);
    } catch (e) {
      result = { ok: false, error: oneLine(String(e)) };
    }
    await this.record(id, Number(row.attempts), Number(row.created_at), row.message_id === null ? null : Number(row.message_id), String(row.kind), result);
  }

  private async record(id: number, attempts: number, createdAt: number, messageId: number | null, kind: string, result: SinkResult): Promise<void> {
    const now = Date.now();
    const tx = await this.store.client.transaction("write");
    try {
      let action: string;
      let detail: Record<string, unknown>;
      if (result.ok) {
        const u = await tx.execute({
          sql: "UPDATE training_reports SET state = 'done', finished_at = ?, last_error = NULL, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
          args: [now, id],
        });
        if (u.rowsAffected === 0) return void (await tx.rollback());
        action = "train.done";
        detail = { report: id, kind, sink: this.sink.name, attempts, note: result.note };
        this.stats.done++;
      } else if (now - createdAt >= this.maxRetryAgeMs) {
        const err = oneLine(`gave up after ${attempts} attempts: ${result.error}`);
        await tx.execute({
          sql: "UPDATE training_reports SET state = 'failed', finished_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
          args: [now, err, id],
        });
        action = "train.failed";
        detail = { report: id, kind, sink: this.sink.name, attempts, error: err };
        this.stats.failed++;
      } else {
        const next = now + backoffMs(attempts, this.retryBaseMs, this.retryMaxMs);
        await tx.execute({
          sql: "UPDATE training_reports SET last_error = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'pending' AND lease_owner = ?",
          args: [result.error, next, id, this.owner],
        });
        this.stats.retried++;
        await tx.commit();
        log("warn", "training.retry", { report: id, attempts, error: result.error, next: new Date(next).toISOString() });
        return;
      }
      await tx.execute({
        sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail) VALUES (?, 'system', 'system', NULL, ?, ?, ?)",
        args: [now, action, messageId, JSON.stringify(detail)],
      });
      await tx.commit();
      log(result.ok ? "info" : "warn", action, detail);
    } catch (e) {
      await tx.rollback().catch(() => {});
      throw e;
    } finally {
      tx.close();
    }
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.busy;
    await this.store.client
      .execute({ sql: "UPDATE training_reports SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND state = 'pending'", args: [this.owner] })
      .catch(() => {});
  }
}
