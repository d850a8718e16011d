/**
 * Worker side of the codec pool (src/storage/codec-pool.ts): decompresses stored messages off
 * the main thread while it writes the previous ones to the client. Beside main.ts because the
 * compiled binary places worker entry points relative to the main entry point.
 */
import { decodeMessage } from "./storage/codec.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(data: unknown, transfer?: Transferable[]): void };

self.onmessage = (e: MessageEvent) => {
  const { id, items } = e.data as { id: number; items: ArrayBuffer[] };
  try {
    // fresh copies: a decoded message may be a view into a larger buffer
    const out = items.map((it) => decodeMessage(it).slice());
    self.postMessage({ id, out }, out.map((b) => b.buffer as ArrayBuffer));
  } catch (err) {
    self.postMessage({ id, error: String((err as Error).message ?? err) });
  }
};

self.postMessage({ ready: true });
