/**
 * Decoding off the main thread: workers turn stored containers back into messages, so a large body FETCH uses the other cores while the session writes to the socket
 * (with the read-ahead in the FETCH command). Where workers cannot start, or one fails,
 * decompression happens inline.
 */
import { availableParallelism } from "node:os";
import { decodeMessage } from "./codec.ts";

type Pending = { resolve: (out: Uint8Array[]) => void; reject: (e: Error) => void };
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
          const d = e.data as { ready?: boolean; id: number; out?: Uint8Array[]; error?: string };
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

  private send(w: Worker, items: Stored[]): Promise<Uint8Array[]> {
    const id = ++this.seq;
    const result = new Promise<Uint8Array[]>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // The stored bytes are handed over, not copied.
    w.postMessage({ id, items }, items);
    return result;
  }

  /** Decodes each stored container back into the message, split across the workers. */
  async decode(items: Stored[]): Promise<Uint8Array[]> {
    const n = this.ready === this.workers.length ? this.workers.length : 0;
    if (n === 0 || items.length === 0) return items.map((it) => decodeMessage(it));
    const per = Math.ceil(items.length / n);
    const parts: Promise<Uint8Array[]>[] = [];
    for (let i = 0, w = 0; i < items.length; i += per, w++) parts.push(this.send(this.workers[w], items.slice(i, i + per)));
    // A failed worker has already taken its buffers: this command fails, later ones run inline.
    return (await Promise.all(parts)).flat();
  }

  close(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.ready = 0;
  }
}
