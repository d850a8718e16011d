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

/** Wraps a client so writes (transactions, write batches, write statements) queue in this process. */
export function serialiseWrites(client: Client, key: string, timeoutMs: number): Client {
  const m = mutexFor(key);

  const transaction = async (mode: TransactionMode = "write"): Promise<Transaction> => {
    if (mode === "read") return client.transaction(mode);
    const release = await m.acquire(timeoutMs);
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

  const batch = async (stmts: InStatement[], mode: TransactionMode = "deferred") => {
    if (mode === "read") return client.batch(stmts, mode);
    const release = await m.acquire(timeoutMs);
    try {
      return await client.batch(stmts, mode);
    } finally {
      release();
    }
  };

  const execute = async (stmt: InStatement | string, args?: unknown) => {
    const call = () => (args === undefined ? client.execute(stmt as InStatement) : (client.execute as (s: string, a: unknown) => ReturnType<Client["execute"]>)(stmt as string, args));
    if (!WRITE.test(sqlOf(stmt as InStatement))) return call();
    const release = await m.acquire(timeoutMs);
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
