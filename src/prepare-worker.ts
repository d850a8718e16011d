/**
 * Worker side of the prepare pool (src/quarantine/prepare-pool.ts): parses, hashes and
 * compresses messages off the main thread, which meanwhile writes the previous batch; and
 * finishes stored messages for the word indexer (their words; the compact form of plain ones).
 * It lives beside main.ts because the compiled binary places worker entry points relative to
 * the main entry point.
 */
import { IngestError, prepare, finishStored, type IngestItem, type PrepareOptions } from "./quarantine/prepare.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(data: unknown, transfer?: Transferable[]): void };

type Job = { id: number; items: IngestItem[]; options?: PrepareOptions } | { id: number; stored: Uint8Array[] };

self.onmessage = (e: MessageEvent) => {
  const job = e.data as Job;
  if ("stored" in job) {
    const results = job.stored.map(finishStored);
    const transfer = results.flatMap((r) => (r.compact && r.compact.byteOffset === 0 && r.compact.byteLength === r.compact.buffer.byteLength ? [r.compact.buffer as ArrayBuffer] : []));
    return self.postMessage({ id: job.id, results }, transfer);
  }
  const transfer: ArrayBuffer[] = [];
  const results = job.items.map((item) => {
    try {
      const p = prepare(item, job.options);
      // the message bytes are not sent back: the compressed forms are all that is stored
      if (p.stored.buffer instanceof ArrayBuffer && p.stored.byteOffset === 0 && p.stored.byteLength === p.stored.buffer.byteLength) transfer.push(p.stored.buffer);
      return { ok: { ...p, item: { ...p.item, raw: new Uint8Array(0) } } };
    } catch (err) {
      if (err instanceof IngestError) return { error: err.message };
      return { error: `internal: ${(err as Error).message}`, internal: true };
    }
  });
  self.postMessage({ id: job.id, results }, transfer);
};

self.postMessage({ ready: true });
