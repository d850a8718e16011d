/**
 * Ingest transactions on a worker thread (src/writer-worker.ts), for LMTP: a commit costs about
 * 0.7 ms of SQLite work and fsync during which the main thread could not read the next
 * deliveries; on the worker the two overlap. While the worker writes, this process's write
 * lock for the file is held here, so every other writer of the process waits its turn as
 * usual (asynchronously) and SQLite never busy-waits between our own connections.
 *
 * One thread serves every local database file of the process (it keeps a connection per file)
 * and lives as long as the process. Where the worker cannot start, `start` returns undefined
 * and the caller ingests on the main thread.
 */
import type { IngestOptions, IngestResult, Prepared } from "../quarantine/ingest.ts";
import { log } from "../observability/log.ts";
import { acquireWriteLock } from "./write-lock.ts";

function workerUrl(): string {
  const dir = (globalThis as { quarantinedWorkerDir?: string }).quarantinedWorkerDir;
  return dir ? new URL("writer-worker.ts", dir).href : new URL("../writer-worker.ts", import.meta.url).href;
}

const EMPTY = new Uint8Array(0);

export interface LocalFile {
  path: string;
  busyTimeoutMs: number;
}

/** A transaction that has not answered after this long means a stuck thread (SQLite's own busy wait is 5 s). */
const REPLY_TIMEOUT_MS = 30_000;

export class WriterThread {
  private seq = 0;
  /** set once the thread crashed or stopped answering: callers then write on their own thread */
  private broken: Error | undefined;
  private waiting = new Map<number, { resolve: (r: IngestResult[]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker, private readonly replyTimeoutMs: number) {
    worker.onmessage = (e: MessageEvent) => {
      const data = e.data as { id: number; results?: IngestResult[]; error?: string };
      const w = this.waiting.get(data.id);
      if (!w) return;
      this.waiting.delete(data.id);
      if (data.error !== undefined) w.reject(new Error(data.error));
      else w.resolve(data.results!);
    };
    worker.onerror = (e: ErrorEvent) => this.fail(new Error(`writer thread failed: ${e.message}`));
  }

  /** False once the thread crashed or stopped answering. */
  get usable(): boolean {
    return this.broken === undefined;
  }

  private fail(e: Error): void {
    if (!this.broken) log("error", "writer_thread.failed", { error: e.message, fallback: "main thread" });
    this.broken ??= e;
    this.failAll(e);
    this.worker.terminate();
  }

  /** A writer thread, or undefined when one cannot start (within 5 s). */
  static async start(opts: { replyTimeoutMs?: number } = {}): Promise<WriterThread | undefined> {
    let worker: Worker;
    try {
      worker = new Worker(workerUrl(), { type: "module" });
    } catch {
      return undefined;
    }
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5000);
      worker.onmessage = (e: MessageEvent) => {
        clearTimeout(timer);
        resolve((e.data as { ready?: boolean }).ready === true);
      };
      worker.onerror = () => {
        clearTimeout(timer);
        resolve(false);
      };
    });
    if (!ok) {
      worker.terminate();
      return undefined;
    }
    return new WriterThread(worker, opts.replyTimeoutMs ?? REPLY_TIMEOUT_MS);
  }

  /** ingestPrepared() into the local database `file` on the worker: resolves once committed. */
  async ingest(file: LocalFile, prepared: Prepared[], opts: IngestOptions): Promise<IngestResult[]> {
    if (this.broken) throw this.broken;
    const release = await acquireWriteLock(file.path, file.busyTimeoutMs);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const id = ++this.seq;
      const done = new Promise<IngestResult[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
      // The message bytes stay here (only the stored container is written). The containers are
      // copied, not moved: the caller may retry a failed batch message by message.
      const slim = prepared.map((p) => ({ ...p, item: { ...p.item, raw: EMPTY } }));
      this.worker.postMessage({ id, file, prepared: slim, opts });
      timer = setTimeout(() => this.fail(new Error(`writer thread did not answer in ${this.replyTimeoutMs} ms`)), this.replyTimeoutMs);
      return await done;
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  /** Closes the worker's connection to a database file (its store is being closed). */
  forget(file: LocalFile): void {
    this.worker.postMessage({ close: file.path });
  }

  private failAll(e: Error): void {
    for (const [, w] of this.waiting) w.reject(e);
    this.waiting.clear();
  }

  close(): void {
    this.failAll(new Error("writer thread closed"));
    this.worker.terminate();
  }
}
