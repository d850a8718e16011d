/**
 * One writer at a time inside this process. The local libSQL client runs SQLite on the main
 * thread: a write that must wait for another connection of the same process blocks the event
 * loop for the whole busy timeout, while the holder cannot finish — a stall of seconds (seen:
 * 10 s at start-up when expiry, the outbox and ingest met). Queuing writers here first means
 * SQLite's busy wait only ever happens between processes.
 *
 * A waiter gives up queuing after the busy timeout and goes ahead unlocked (SQLite's own
 * locking still keeps the data safe), so a caller that writes through the client while it
 * holds a transaction gets the old stall, never a deadlock.
 *
 * Between processes (a CLI import beside the server) SQLite's busy handler would sleep on the
 * main thread too: every listener stalled for as long as the other process held the lock. So
 * before a write the caller's `waitForLock` waits for the other process asynchronously (the
 * native writer polls BEGIN IMMEDIATE with a short busy timeout, BUSY_POLL_MS, and rolls back),
 * and only then does the client write. The client itself keeps the full busy timeout: a
 * statement of @libsql/client that fails with SQLITE_BUSY is not reset, and its connection then
 * holds a read transaction that keeps later writes on it from ever committing, so the client
 * must not meet the lock, except in the rare race where another process takes it in between.
 */
import type { Client, InStatement, Transaction, TransactionMode } from "@libsql/client";

class Mutex {
  private locked = false;
  private queue: (() => boolean)[] = [];

  acquire(timeoutMs: number): Promise<() => void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => {
      let settled = false;
      const grant = () => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        resolve(this.releaser());
        return true;
      };
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        resolve(() => {});
      }, timeoutMs);
      this.queue.push(grant);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      while (this.queue.length) if (this.queue.shift()!()) return;
      this.locked = false;
    };
  }
}

/** SQLite busy timeout of main-thread connections: the longest the event loop may wait in SQLite. */
export const BUSY_POLL_MS = 20;

export function isBusy(e: unknown): boolean {
  const text = `${(e as { code?: string })?.code ?? ""} ${(e as Error)?.message ?? e}`;
  return /SQLITE_BUSY|database is locked/i.test(text);
}

/** Runs `attempt` again after short asynchronous pauses while the database is locked by another process. */
export async function retryWhileBusy<T>(attempt: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      return await attempt();
    } catch (e) {
      if (!isBusy(e) || Date.now() + pause > deadline) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** One mutex per database file, shared by every client this process opens on it. */
const mutexes = new Map<string, Mutex>();

function mutexFor(key: string): Mutex {
  let mutex = mutexes.get(key);
  if (!mutex) mutexes.set(key, (mutex = new Mutex()));
  return mutex;
}

/** Takes this process's write lock for a database file (a writer that is not a wrapped client). */
export function acquireWriteLock(key: string, timeoutMs: number): Promise<() => void> {
  return mutexFor(key).acquire(timeoutMs);
}

const WRITE = /^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b/i;

function sqlOf(stmt: InStatement): string {
  return typeof stmt === "string" ? stmt : stmt.sql;
}

/**
 * Wraps a client so writes (transactions, write batches, write statements) queue in this process
 * and wait for other processes without blocking the event loop (`waitForLock`).
 */
export function serialiseWrites(client: Client, key: string, timeoutMs: number, waitForLock?: () => Promise<void>): Client {
  const m = mutexFor(key);

  const transaction = async (mode: TransactionMode = "write"): Promise<Transaction> => {
    if (mode === "read") return client.transaction(mode);
    const release = await lock();
    let tx: Transaction;
    try {
      tx = await client.transaction(mode);
    } catch (e) {
      release();
      throw e;
    }
    return new Proxy(tx, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "commit" || prop === "rollback") {
          return async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            } finally {
              release();
            }
          };
        }
        if (prop === "close") {
          return () => {
            try {
              (value as () => void).apply(target);
            } finally {
              release();
            }
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };

  /** This process's mutex, then the other processes' lock (asynchronously); returns the mutex's release. */
  const lock = async (): Promise<() => void> => {
    const release = await m.acquire(timeoutMs);
    try {
      await waitForLock?.();
    } catch (e) {
      release();
      throw e;
    }
    return release;
  };

  const batch = async (stmts: InStatement[], mode: TransactionMode = "deferred") => {
    if (mode === "read") return client.batch(stmts, mode);
    const release = await lock();
    try {
      return await client.batch(stmts, mode);
    } finally {
      release();
    }
  };

  const execute = async (stmt: InStatement | string, args?: unknown) => {
    const call = () => (args === undefined ? client.execute(stmt as InStatement) : (client.execute as (s: string, a: unknown) => ReturnType<Client["execute"]>)(stmt as string, args));
    if (!WRITE.test(sqlOf(stmt as InStatement))) return call();
    const release = await lock();
    try {
      return await call();
    } finally {
      release();
    }
  };

  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "transaction") return transaction;
      if (prop === "batch") return batch;
      if (prop === "execute") return execute;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
