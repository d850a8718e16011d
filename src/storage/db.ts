/**
 * Opening the database: a local libSQL file by default, a libSQL server by URL.
 * Local files get WAL (stored in the file, so once is enough) and a busy timeout applied to
 * every pooled connection through the client's `timeout` option (STACK-NOTES §1: PRAGMAs sent
 * with execute() reach only one pooled connection).
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createClient, type Client, type Transaction } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrations } from "./migrations.gen.ts";
import * as schema from "./schema.ts";
import { NativeWriter } from "./native-writer.ts";
import { serialiseWrites } from "./write-lock.ts";

export type Db = LibSQLDatabase<typeof schema>;

export interface Store {
  client: Client;
  db: Db;
  url: string;
  kind: "file" | "remote";
  /** the ingest hot path's own connection (local files only; opened on first use) */
  native(): NativeWriter | undefined;
  /** the database file, for connections of other threads (local files only) */
  localFile?: { path: string; busyTimeoutMs: number };
  close(): void;
}

export interface OpenOptions {
  url: string;
  authToken?: string;
  busyTimeoutMs?: number;
}

/** file:<dataDir>/quarantine.db unless a URL is configured. */
export function databaseUrl(dataDir: string, url?: string): string {
  return url ?? `file:${resolve(dataDir, "quarantine.db")}`;
}

export async function openStore(opts: OpenOptions): Promise<Store> {
  const kind = opts.url.startsWith("file:") ? "file" : "remote";
  if (kind === "file") {
    const path = opts.url.slice("file:".length).replace(/\?.*$/, "");
    if (path && !path.startsWith(":memory:")) {
      // The file holds everyone's mail and password hashes: a new one (and its directory) is
      // for this user only, whatever the umask. SQLite gives -wal and -shm the file's mode.
      mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
      try {
        closeSync(openSync(resolve(path), "wx", 0o600));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
  }
  const raw = createClient({ url: opts.url, authToken: opts.authToken, timeout: opts.busyTimeoutMs ?? 5000 });
  const path = resolve(opts.url.slice("file:".length));
  const nativeUsable = kind === "file" && !opts.url.includes(":memory:") && !opts.url.includes("?");
  let native: NativeWriter | undefined;
  const nativeWriter = () => (native ??= new NativeWriter(path, opts.busyTimeoutMs ?? 5000));
  // writes wait for other processes on the native connection, asynchronously (write-lock.ts)
  const client = kind === "file" ? serialiseWrites(raw, path, opts.busyTimeoutMs ?? 5000, nativeUsable ? () => nativeWriter().waitForWriteLock() : undefined) : raw;
  if (kind === "file") {
    await client.execute("PRAGMA journal_mode=WAL");
  }
  const db = drizzle(client, { schema });
  return {
    client,
    db,
    url: opts.url,
    kind,
    native: () => (nativeUsable ? nativeWriter() : undefined),
    localFile: nativeUsable ? { path, busyTimeoutMs: opts.busyTimeoutMs ?? 5000 } : undefined,
    close: () => {
      native?.close();
      client.close();
    },
  };
}

/** Applies the embedded migrations (safe to run again, and from several processes at once). */
export async function migrate(store: Store): Promise<number> {
  const list = migrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: true,
    folderMillis: m.when,
    hash: m.hash,
  }));
  // drizzle's dialect migrator: the same semantics as drizzle-orm/libsql/migrator, but fed from
  // constants instead of a folder (STACK-NOTES §1). It runs in one write transaction.
  const dialect = (store.db as unknown as { dialect: { migrate: (m: unknown, s: unknown, c: unknown) => Promise<void> } }).dialect;
  const session = (store.db as unknown as { session: unknown }).session;
  for (let attempt = 0; ; attempt++) {
    try {
      await dialect.migrate(list, session, { migrationsTable: "__drizzle_migrations" });
      break;
    } catch (e) {
      // Two processes starting at once: the loser sees "already exists"; the winner's work is done.
      if (attempt < 3 && /already exists|SQLITE_BUSY/i.test(String((e as Error).message ?? e))) {
        await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
        continue;
      }
      throw e;
    }
  }
  await ensureMeta(store);
  return list.length;
}

async function ensureMeta(store: Store): Promise<void> {
  // UIDVALIDITY base: fixed for the life of this database (mbsync keys its state on it).
  const base = Math.floor(Date.now() / 1000) & 0x3fffffff;
  await store.client.execute({ sql: "INSERT OR IGNORE INTO meta(key, value) VALUES ('uidvalidity', ?)", args: [String(base)] });
}

export async function getMeta(store: Store, key: string): Promise<string | undefined> {
  const r = await store.client.execute({ sql: "SELECT value FROM meta WHERE key = ?", args: [key] });
  return r.rows[0]?.value as string | undefined;
}

/** Runs `fn` in one write transaction: committed when it returns, rolled back when it throws. */
export async function inWriteTransaction<T>(store: Store, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  const tx = await store.client.transaction("write");
  try {
    const out = await fn(tx);
    await tx.commit();
    return out;
  } catch (e) {
    await tx.rollback().catch(() => {});
    throw e;
  } finally {
    tx.close();
  }
}

export { schema };

/**
 * Did a statement fail because another connection holds the database's lock past the busy
 * timeout (SQLITE_BUSY / SQLITE_LOCKED, "database is locked")? drizzle wraps the driver's error
 * in `cause`, so the chain is walked.
 */
export function isDatabaseBusy(e: unknown): boolean {
  for (let err = e as { code?: unknown; rawCode?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; err && depth < 5; err = err.cause as typeof err, depth++) {
    if (typeof err !== "object") break;
    const code = typeof err.code === "string" ? err.code : "";
    if (/^SQLITE_(BUSY|LOCKED)/.test(code) || err.rawCode === 5 || err.rawCode === 6) return true;
    if (typeof err.message === "string" && /SQLITE_BUSY|SQLITE_LOCKED|database is locked|database table is locked/i.test(err.message)) return true;
  }
  return false;
}
