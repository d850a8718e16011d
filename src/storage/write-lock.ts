/**
 * One writer at a time inside this process. The local libSQL client runs SQLite on the main
 * thread: a write transaction that must wait for another connection of the same process
 * blocks the event loop for the whole busy timeout, while the holder cannot finish — a stall
 * of seconds (seen: 10 s at start-up when expiry, the outbox and ingest met). Queuing writers
 * here first means SQLite's busy wait only ever happens between processes.
 */
import type { Client, InStatement, Transaction, TransactionMode } from "@libsql/client";

class Mutex {
  private tail = Promise.resolve();
  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => next);
    return ready;
  }
}

/** Wraps a client so write transactions and write batches are serialised in this process. */
export function serialiseWrites(client: Client): Client {
  const mutex = new Mutex();
  const transaction = async (mode: TransactionMode = "write"): Promise<Transaction> => {
    if (mode === "read") return client.transaction(mode);
    const release = await mutex.acquire();
    let tx: Transaction;
    try {
      tx = await client.transaction(mode);
    } catch (e) {
      release();
      throw e;
    }
    let released = false;
    const done = () => {
      if (!released) {
        released = true;
        release();
      }
    };
    return new Proxy(tx, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === "commit" || prop === "rollback") {
          return async (...args: unknown[]) => {
            try {
              return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            } finally {
              done();
            }
          };
        }
        if (prop === "close") {
          return () => {
            try {
              (value as () => void).apply(target);
            } finally {
              done();
            }
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  };
  const batch = async (stmts: InStatement[], mode: TransactionMode = "deferred") => {
    if (mode === "read") return client.batch(stmts, mode);
    const release = await mutex.acquire();
    try {
      return await client.batch(stmts, mode);
    } finally {
      release();
    }
  };
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "transaction") return transaction;
      if (prop === "batch") return batch;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
