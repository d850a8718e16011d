/**
 * A small pool of workers running `prepare()` (MIME index, hash, compression) so bulk ingest
 * uses the other cores while the main thread writes to the database. Where workers cannot
 * start (or do not answer their start-up handshake), messages are prepared on the main thread.
 */
import { availableParallelism } from "node:os";
import { IngestError, prepare, finishStored, type Finished, type IngestItem, type PrepareOptions, type Prepared } from "./prepare.ts";

type Result = { ok: Prepared } | { error: string; internal?: boolean };

function workerUrl(): string {
  const dir = (globalThis as { quarantinedWorkerDir?: string }).quarantinedWorkerDir;
  return dir ? new URL("prepare-worker.ts", dir).href : new URL("../prepare-worker.ts", import.meta.url).href;
}

export class PreparePool {
  private workers: Worker[] = [];
  private ready: Promise<boolean>;
  private next = 0;
  private seq = 0;
  private waiting = new Map<number, { resolve: (r: unknown[]) => void; reject: (e: Error) => void }>();

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    const started: Promise<boolean>[] = [];
    for (let i = 0; i < size; i++) {
      try {
        const w = new Worker(workerUrl(), { type: "module" });
        let up!: (ok: boolean) => void;
        started.push(new Promise<boolean>((r) => (up = r)));
        w.onmessage = (e: MessageEvent) => {
          const data = e.data as { ready?: boolean; id: number; results: unknown[] };
          if (data.ready) return up(true);
          this.waiting.get(data.id)?.resolve(data.results);
          this.waiting.delete(data.id);
        };
        w.onerror = (e: ErrorEvent) => {
          up(false);
          for (const [, p] of this.waiting) p.reject(new Error(`prepare worker failed: ${e.message}`));
          this.waiting.clear();
        };
        this.workers.push(w);
      } catch {
        break;
      }
    }
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref?.());
    this.ready = Promise.race([Promise.all(started).then((all) => all.length > 0 && all.every(Boolean)), timeout]).then((ok) => {
      if (!ok) this.close();
      return ok;
    });
  }

  /** How many workers answered their handshake (0: preparing on the main thread). */
  async workersReady(): Promise<number> {
    return (await this.ready) ? this.workers.length : 0;
  }

  private inline(items: IngestItem[], options?: PrepareOptions): (Prepared | IngestError)[] {
    return items.map((item) => {
      try {
        return prepare(item, options);
      } catch (e) {
        if (e instanceof IngestError) return e;
        throw e;
      }
    });
  }

  /**
   * Prepares items; each result is the prepared message or the IngestError that refused it.
   * The items' bytes may be moved to a worker: do not use `item.raw` after calling this.
   */
  async prepare(items: IngestItem[], options?: PrepareOptions): Promise<(Prepared | IngestError)[]> {
    if (items.length === 0) return [];
    if (!(await this.ready) || this.workers.length === 0) return this.inline(items, options);
    // Split the batch across the workers; keep the order.
    const per = Math.ceil(items.length / this.workers.length);
    const parts: Promise<Result[]>[] = [];
    for (let i = 0; i < items.length; i += per) {
      const id = ++this.seq;
      const w = this.workers[this.next++ % this.workers.length];
      parts.push(new Promise((resolve, reject) => this.waiting.set(id, { resolve: resolve as (r: unknown[]) => void, reject })));
      const part = items.slice(i, i + per);
      // Message bytes that own their whole buffer are moved to the worker, not copied; the
      // caller does not need them afterwards (prepare() keeps only compressed forms).
      const transfer = [...new Set(part.map((it) => it.raw.buffer).filter((b, j) => b instanceof ArrayBuffer && part[j].raw.byteOffset === 0 && part[j].raw.byteLength === b.byteLength))] as ArrayBuffer[];
      w.postMessage({ id, items: part, options }, transfer);
    }
    let results: Result[];
    try {
      results = (await Promise.all(parts)).flat();
    } catch {
      this.close();
      return this.inline(items, options);
    }
    return results.map((r, i) => {
      if ("ok" in r) return r.ok;
      if (r.internal) throw new Error(r.error);
      return new IngestError(r.error);
    });
  }

  /** Finishes stored containers for the word indexer (finishStored), in order, on one worker. */
  async finish(stored: Uint8Array[]): Promise<Finished[]> {
    const inline = () => stored.map(finishStored);
    if (stored.length === 0) return [];
    if (!(await this.ready) || this.workers.length === 0) return inline();
    const id = ++this.seq;
    const w = this.workers[this.next++ % this.workers.length];
    const finished = new Promise<Finished[]>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (r: unknown[]) => void, reject }));
    w.postMessage({ id, stored });
    try {
      return await finished;
    } catch {
      this.close();
      return inline();
    }
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}
