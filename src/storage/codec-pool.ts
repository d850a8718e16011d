/**
 * Decoding off the main thread: workers turn stored containers back into messages, so a large body FETCH uses the other cores while the session writes to the socket
 * (with the read-ahead in the FETCH command). Where workers cannot start, or one fails,
 * decompression happens inline.
 */
import { availableParallelism } from "node:os";
import { decodeMessage } from "./codec.ts";
import type { LocalFile } from "./writer-thread.ts";

type Pending = { resolve: (out: (Uint8Array | null)[]) => void; reject: (e: Error) => void };
type Stored = ArrayBuffer;

function workerUrl(): string {
  const dir = (globalThis as { quarantinedWorkerDir?: string }).quarantinedWorkerDir;
  return dir ? new URL("codec-worker.ts", dir).href : new URL("../codec-worker.ts", import.meta.url).href;
}

export class CodecPool {
  private workers: Worker[] = [];
  private ready = 0;
  private seq = 0;
  private waiting = new Map<number, Pending>();

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i++) {
      try {
        const w = new Worker(workerUrl(), { type: "module" });
        w.onmessage = (e: MessageEvent) => {
          const d = e.data as { ready?: boolean; id: number; out?: (Uint8Array | null)[]; error?: string };
          if (d.ready) return void this.ready++;
          const p = this.waiting.get(d.id);
          this.waiting.delete(d.id);
          if (d.error !== undefined) p?.reject(new Error(d.error));
          else p?.resolve(d.out!);
        };
        w.onerror = () => this.fail();
        // Idle workers must not keep the process alive.
        (w as unknown as { unref?: () => void }).unref?.();
        this.workers.push(w);
      } catch {
        break;
      }
    }
  }

  private fail(): void {
    for (const [, p] of this.waiting) p.reject(new Error("codec worker failed"));
    this.waiting.clear();
    this.close();
  }

  private send(w: Worker, job: { items: Stored[] } | { file: LocalFile; blobIds: number[] }): Promise<(Uint8Array | null)[]> {
    const id = ++this.seq;
    const result = new Promise<(Uint8Array | null)[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // The stored bytes are handed over, not copied.
    w.postMessage({ id, ...job }, "items" in job ? job.items : []);
    return result;
  }

  /** Whether every worker answered its start-up handshake (else callers decode inline). */
  get available(): boolean {
    return this.workers.length > 0 && this.ready === this.workers.length;
  }

  /**
   * Reads the stored containers of `blobIds` from a local database file and decodes them, on
   * the workers (each reads its share on its own connection). null for a blob that is gone.
   */
  async readAndDecode(file: LocalFile, blobIds: number[]): Promise<(Uint8Array | null)[]> {
    const n = this.workers.length;
    const per = Math.ceil(blobIds.length / n);
    const parts: Promise<(Uint8Array | null)[]>[] = [];
    for (let i = 0, w = 0; i < blobIds.length; i += per, w++) parts.push(this.send(this.workers[w], { file, blobIds: blobIds.slice(i, i + per) }));
    return (await Promise.all(parts)).flat();
  }

  /** Decodes each stored container back into the message, split across the workers. */
  async decode(items: Stored[]): Promise<Uint8Array[]> {
    const n = this.ready === this.workers.length ? this.workers.length : 0;
    if (n === 0 || items.length === 0) return items.map((it) => decodeMessage(it));
    const per = Math.ceil(items.length / n);
    const parts: Promise<(Uint8Array | null)[]>[] = [];
    for (let i = 0, w = 0; i < items.length; i += per, w++) parts.push(this.send(this.workers[w], { items: items.slice(i, i + per) }));
    // A failed worker has already taken its buffers: this command fails, later ones run inline.
    return (await Promise.all(parts)).flat() as Uint8Array[];
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.ready = 0;
  }
}
