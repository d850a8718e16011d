/**
 * Shared machinery of the background workers (outbox delivery, training forwarding):
 * leases on queue rows, exponential backoff, and a poll loop that a caller can wake early.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";

/** A lease owner id unique to this worker instance: host, pid and a random tag. */
export function newOwnerId(kind: string): string {
  return `${kind}:${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/**
 * Delay before attempt `attempts + 1` after `attempts` failed ones: base·2^(n-1), capped,
 * with ±10 % jitter so that a burst of failures does not retry in lockstep.
 */
export function backoffMs(attempts: number, baseMs: number, maxMs: number, random = Math.random): number {
  const n = Math.max(1, attempts);
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(n - 1, 40));
  return Math.max(0, Math.round(raw * (0.9 + 0.2 * random())));
}

/** One-line, header-safe text (SMTP replies and errors end up in rows and the audit log). */
export function oneLine(s: string, max = 1000): string {
  const t = s.replace(/[\r\n]+/g, " ").replace(/\s+/g, " ").trim();
  return t.length > max ? t.slice(0, max - 1) + "…" : t;
}

/**
 * Calls `tick` every `intervalMs`, at once on `kick()`, and again without waiting while a
 * tick reports that it found work. Never runs two ticks at once.
 */
/** Tuning every leased-queue worker takes; each defaults to its config (tests pass milliseconds). */
export interface LeasedWorkerTuning {
  /** lease owner id; default host:pid:random */
  owner?: string;
  pollMs?: number;
  leaseMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxRetryAgeMs?: number;
  concurrency?: number;
}

export class PollLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly tick: () => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /** Wake the loop now (something was queued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        queueMicrotask(() => this.kick());
      } else {
        this.timer = setTimeout(() => this.kick(), this.intervalMs);
        (this.timer as { unref?: () => void }).unref?.();
      }
    });
  }

  private async run(): Promise<void> {
    try {
      for (let i = 0; i < 1000 && !this.stopped; i++) {
        this.again = false;
        if (!(await this.tick())) break;
      }
    } catch (e) {
      this.onError(e);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
