/**
 * Worker side of the codec pool (src/storage/codec-pool.ts): decompresses stored messages off
 * the main thread while it writes the previous ones to the client. For a local database it
 * also reads the stored containers itself, on its own connection, so neither the SQLite read
 * nor the copy of the compressed bytes between threads costs the main thread anything.
 * Beside main.ts because the compiled binary places worker entry points relative to the main
 * entry point.
 */
import Database from "libsql";
import { decodeMessage } from "./storage/codec.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(data: unknown, transfer?: Transferable[]): void };

type Job = { id: number; items: ArrayBuffer[] } | { id: number; file: { path: string; busyTimeoutMs: number }; blobIds: number[] };

type Statement = { all(...args: unknown[]): { id: number; data: Uint8Array }[] };
const readers = new Map<string, Statement>();
/** One statement per database file: the blob ids go in as one JSON array. */
function reader(file: { path: string; busyTimeoutMs: number }): Statement {
  let s = readers.get(file.path);
  if (!s) {
    const db = new Database(file.path, { timeout: file.busyTimeoutMs }) as unknown as { prepare(sql: string): Statement };
    s = db.prepare("SELECT b.id AS id, b.data AS data FROM json_each(?) j JOIN blobs b ON b.id = j.value");
    readers.set(file.path, s);
  }
  return s;
}

self.onmessage = (e: MessageEvent) => {
  const job = e.data as Job;
  try {
    let stored: (Uint8Array | ArrayBuffer | undefined)[];
    if ("blobIds" in job) {
      const byId = new Map(reader(job.file).all(JSON.stringify(job.blobIds)).map((r) => [Number(r.id), r.data]));
      stored = job.blobIds.map((id) => byId.get(id)); // a blob collected meanwhile: undefined
    } else {
      stored = job.items;
    }
    // fresh copies: a decoded message may be a view into a larger buffer
    const out = stored.map((it) => (it === undefined ? null : decodeMessage(it).slice()));
    self.postMessage({ id: job.id, out }, out.filter((b) => b !== null).map((b) => b!.buffer as ArrayBuffer));
  } catch (err) {
    self.postMessage({ id: job.id, error: String((err as Error).message ?? err) });
  }
};

self.postMessage({ ready: true });
