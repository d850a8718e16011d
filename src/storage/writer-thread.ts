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

export class WriterThread {
  private seq = 0;
  private waiting = new Map<number, { resolve: (r: IngestResult[]) => void; reject: (e: Error) => void }>();

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent) => {
      const data = e.data as { id: number; results?: IngestResult[]; error?: string };
      const w = this.waiting.get(data.id);
      if (!w) return;
      this.waiting.delete(data.id);
      if (data.error !== undefined) w.reject(new Error(data.error));
      else w.resolve(data.results!);
    };
    worker.onerror = (e: ErrorEvent) => this.failAll(new Error(`writer thread failed: ${e.message}`));
  }

  /** A writer thread, or undefined when one cannot start (within 5 s). */
  static async start(): Promise<WriterThread | undefined> {
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
    return new WriterThread(worker);
  }

  /** ingestPrepared() into the local database `file` on the worker: resolves once committed. */
  async ingest(file: LocalFile, prepared: Prepared[], opts: IngestOptions): Promise<IngestResult[]> {
    const release = await acquireWriteLock(file.path, file.busyTimeoutMs);
    try {
      const id = ++this.seq;
      const done = new Promise<IngestResult[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
      // The message bytes stay here (only the stored container is written). The containers are
      // copied, not moved: the caller may retry a failed batch message by message.
      const slim = prepared.map((p) => ({ ...p, item: { ...p.item, raw: EMPTY } }));
      this.worker.postMessage({ id, file, prepared: slim, opts });
      return await done;
    } finally {
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
