/**
 * Wakes IDLE sessions when the change log moves, whoever moved it: this process (kick()) or
 * another process on the same database (polled). One cheap query per tick for the whole
 * process, however many sessions are idling.
 */
import type { Store } from "../../storage/db.ts";

export class ChangeNotifier {
  private listeners = new Set<() => void>();
  private last = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private polling = false;

  constructor(private store: Store, private intervalMs = 500) {}

  async start(): Promise<void> {
    this.last = await this.read();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called after a local write so idlers hear about it at once. */
  kick(): void {
    void this.poll();
  }

  private async read(): Promise<number> {
    const r = await this.store.client.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'");
    return Number(r.rows[0]?.seq ?? 0);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.listeners.size === 0) return;
    this.polling = true;
    try {
      const now = await this.read();
      if (now !== this.last) {
        this.last = now;
        for (const fn of this.listeners) fn();
      }
    } catch {
      /* the database is briefly busy or gone; the next tick retries */
    } finally {
      this.polling = false;
    }
  }
}
