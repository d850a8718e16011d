/**
 * Gauges that need a database read (quarantine size, queue depths and ages) or a sampler
 * (event-loop lag). The database is read at most once per `ttlMs` however often /metrics
 * and the status page are fetched; a failed read keeps the last values and sets
 * quarantined_metrics_database_up to 0.
 */
import { counter, gauge, histogram, onCollect } from "../observability/metrics.ts";
import { overview, type Overview } from "../quarantine/query.ts";
import type { Store } from "../storage/db.ts";
import { MESSAGE_STATES } from "../storage/schema.ts";

const g = {
  messages: gauge("quarantined_quarantine_messages", "Quarantine rows by state and direction"),
  bytes: gauge("quarantined_quarantine_bytes", "Size of quarantine rows (message bytes per row) by state and direction"),
  outbox: gauge("quarantined_outbox_items", "Release outbox rows by state"),
  outboxOldest: gauge("quarantined_outbox_oldest_pending_seconds", "Age of the oldest pending outbox row in seconds (0 when none)"),
  outboxOverdue: gauge("quarantined_outbox_overdue_items", "Pending outbox rows overdue by more than the readiness threshold"),
  training: gauge("quarantined_training_reports", "Training reports by state"),
  trainingOldest: gauge("quarantined_training_oldest_pending_seconds", "Age of the oldest pending training report in seconds (0 when none)"),
  wordIndexQueued: gauge("quarantined_word_index_queued_blobs", "Messages stored by LMTP whose search words are not indexed yet (SEARCH TEXT waits for them)"),
  dbUp: gauge("quarantined_metrics_database_up", "1 when the last metrics read from the database succeeded"),
  memory: gauge("quarantined_process_memory_bytes", "Process memory by kind (rss, heap_used, heap_total, external)"),
  lag: gauge("quarantined_event_loop_lag_seconds", "Largest event-loop delay seen over the last sampling window, in seconds"),
  uptime: gauge("quarantined_process_uptime_seconds", "Seconds since the process started"),
  info: gauge("quarantined_build_info", "Version of the running build (value is always 1)"),
};

export const httpMetrics = {
  requests: counter("quarantined_http_requests_total", "HTTP requests by method, route and status"),
  latency: histogram("quarantined_http_request_seconds", "HTTP request latency in seconds, by route", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
};

const DIRECTIONS = ["in", "out"] as const;
const OUTBOX_STATES = ["pending", "done", "failed"];
const TRAINING_STATES = ["pending", "done", "failed", "duplicate"];

/** Samples event-loop delay: a timer that should fire every `intervalMs`; the lateness is the lag. */
class LagSampler {
  #timer?: ReturnType<typeof setInterval>;
  #expected = 0;
  #windowMax = 0;
  #reported = 0;
  #windowStart = 0;
  constructor(readonly intervalMs = 250, readonly windowMs = 5000) {}
  start(): void {
    if (this.#timer) return;
    this.#expected = performance.now() + this.intervalMs;
    this.#windowStart = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#windowMax = Math.max(this.#windowMax, Math.max(0, now - this.#expected));
      this.#expected = now + this.intervalMs;
      if (now - this.#windowStart >= this.windowMs) {
        this.#reported = this.#windowMax;
        this.#windowMax = 0;
        this.#windowStart = now;
      }
    }, this.intervalMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
  /** seconds: the larger of the last full window and the current one */
  get seconds(): number {
    return Math.max(this.#reported, this.#windowMax) / 1000;
  }
}

/** onCollect has no way to unregister, so one collector serves whichever instance is current. */
let current: OpsGauges | undefined;
let registered = false;

export class OpsGauges {
  #last?: Overview;
  #at = 0;
  #inflight?: Promise<Overview | undefined>;
  readonly lag = new LagSampler();

  constructor(
    readonly store: Store | undefined,
    readonly opts: { ttlMs?: number; overdueMs?: number; version: string; startedAt: number },
  ) {
    this.lag.start();
    g.info.set({ version: opts.version }, 1);
    current = this;
    if (!registered) {
      registered = true;
      onCollect(() => current?.collect());
    }
  }

  /** Reads the database unless the cached read is fresher than ttlMs; concurrent callers share one read. */
  async refresh(): Promise<Overview | undefined> {
    if (!this.store) return undefined;
    if (this.#last && Date.now() - this.#at < (this.opts.ttlMs ?? 5000)) return this.#last;
    this.#inflight ??= (async () => {
      try {
        this.#last = await overview(this.store!, this.opts.overdueMs);
        this.#at = Date.now();
        g.dbUp.set({}, 1);
      } catch {
        g.dbUp.set({}, 0);
        this.#at = Date.now(); // back off as if read, so a broken database is not hammered by scrapes
      } finally {
        this.#inflight = undefined;
      }
      return this.#last;
    })();
    return this.#inflight;
  }

  /** Synchronous: copies the cached overview and process figures into the gauges before a render. */
  collect(): void {
    const m = process.memoryUsage();
    g.memory.set({ kind: "rss" }, m.rss);
    g.memory.set({ kind: "heap_used" }, m.heapUsed);
    g.memory.set({ kind: "heap_total" }, m.heapTotal);
    g.memory.set({ kind: "external" }, m.external);
    g.lag.set({}, this.lag.seconds);
    g.uptime.set({}, Math.round((Date.now() - this.opts.startedAt) / 1000));
    const o = this.#last;
    if (!o) return;
    for (const state of MESSAGE_STATES)
      for (const direction of DIRECTIONS) {
        const row = o.messages.find((r) => r.state === state && r.direction === direction);
        g.messages.set({ state, direction }, row?.count ?? 0);
        g.bytes.set({ state, direction }, row?.bytes ?? 0);
      }
    for (const s of OUTBOX_STATES) g.outbox.set({ state: s }, o.outbox.byState[s] ?? 0);
    for (const s of TRAINING_STATES) g.training.set({ state: s }, o.training.byState[s] ?? 0);
    g.outboxOldest.set({}, o.outbox.oldestPendingSeconds);
    g.trainingOldest.set({}, o.training.oldestPendingSeconds);
    g.outboxOverdue.set({}, o.outboxOverdue);
    g.wordIndexQueued.set({}, o.wordIndexQueued);
  }

  dispose(): void {
    this.lag.stop();
    if (current === this) current = undefined;
  }
}
