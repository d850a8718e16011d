/**
 * A second connection to a local database file for the ingest hot path, on libsql's
 * synchronous API (the driver under @libsql/client) with its statements prepared once.
 *
 * Why: a one-message ingest transaction through @libsql/client took 0.85 ms, of which about
 * 0.37 ms was the client (a fresh prepare per statement, a promise per call); here it takes
 * 0.49 ms, most of it the fsync. At one LMTP connection that is a quarter of a delivery.
 *
 * It takes this process's write lock for the file (write-lock.ts) like every other writer, so
 * it never busy-waits on a connection of its own process; other processes are kept off by
 * SQLite's own locking with the same busy timeout. Remote databases have no such connection
 * and use the client.
 */
import Database from "libsql";
import { acquireWriteLock, BUSY_POLL_MS, isBusy, retryWhileBusy } from "./write-lock.ts";

type Row = Record<string, unknown>;
type Statement = { run(...args: unknown[]): unknown; all(...args: unknown[]): unknown[] };

/** What a transaction body gets: synchronous reads and writes with cached statements. */
export interface NativeTx {
  all(sql: string, args?: unknown[]): Row[];
  run(sql: string, args?: unknown[]): void;
}

export class NativeWriter {
  private db: { prepare(sql: string): Statement; close(): void };
  private statements = new Map<string, Statement>();

  constructor(private readonly path: string, private readonly busyTimeoutMs: number) {
    // a short busy wait: the transaction's BEGIN is retried asynchronously (write-lock.ts)
    this.db = new Database(path, { timeout: BUSY_POLL_MS }) as never;
  }

  private statement(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      // statements are keyed by their text; ingest uses a handful of fixed shapes
      if (this.statements.size > 256) this.statements.clear();
      this.statements.set(sql, (s = this.db.prepare(sql)));
    }
    return s;
  }

  /**
   * Runs `fn` in BEGIN IMMEDIATE … COMMIT (rolled back if it throws), under the process's write
   * lock, which keeps every other user of this connection out while `fn` awaits.
   */
  async transaction<T>(fn: (tx: NativeTx) => T | Promise<T>): Promise<T> {
    const release = await acquireWriteLock(this.path, this.busyTimeoutMs);
    try {
      const tx: NativeTx = {
        all: (sql, args = []) => this.statement(sql).all(...args) as Row[],
        run: (sql, args = []) => void this.statement(sql).run(...args),
      };
      const begin = this.statement("BEGIN IMMEDIATE");
      try {
        begin.run();
      } catch (e) {
        // another process holds the lock: wait for it without blocking the event loop
        if (!isBusy(e)) throw e;
        await retryWhileBusy(() => begin.run(), this.busyTimeoutMs);
      }
      try {
        const out = await fn(tx);
        this.statement("COMMIT").run();
        return out;
      } catch (e) {
        try {
          this.statement("ROLLBACK").run();
        } catch {
          // no transaction left to roll back (SQLite rolled it back itself)
        }
        throw e;
      }
    } finally {
      release();
    }
  }

  /**
   * Waits, asynchronously, until no other process holds the database's write lock (takes it and
   * gives it back at once). Call it under this process's write lock, outside a transaction.
   */
  async waitForWriteLock(): Promise<void> {
    await retryWhileBusy(() => {
      this.statement("BEGIN IMMEDIATE").run();
      this.statement("ROLLBACK").run();
    }, this.busyTimeoutMs);
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
