/**
 * Worker side of the prepare pool (src/quarantine/prepare-pool.ts): parses, hashes and
 * compresses messages off the main thread, which meanwhile writes the previous batch.
 * It lives beside main.ts because the compiled binary places worker entry points relative to
 * the main entry point.
 */
import { IngestError, prepare, type IngestItem } from "./quarantine/prepare.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(data: unknown): void };

self.onmessage = (e: MessageEvent) => {
  const { id, items } = e.data as { id: number; items: IngestItem[] };
  const results = items.map((item) => {
    try {
      const p = prepare(item);
      // the message bytes are not sent back: the compressed forms are all that is stored
      return { ok: { ...p, item: { ...p.item, raw: new Uint8Array(0) } } };
    } catch (err) {
      if (err instanceof IngestError) return { error: err.message };
      return { error: `internal: ${(err as Error).message}`, internal: true };
    }
  });
  self.postMessage({ id, results });
};

self.postMessage({ ready: true });
