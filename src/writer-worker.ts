/**
 * Worker side of the ingest writer thread (src/storage/writer-thread.ts): runs ingest
 * transactions on its own native connection per database file, so their SQLite work and fsync
 * happen off the main thread, which meanwhile reads the next deliveries. The main thread holds
 * the process's write lock for the file while a transaction of ours runs, so no other writer
 * of this process meets it. It lives beside main.ts because the compiled binary places worker
 * entry points relative to the main entry point.
 */
import { ingestPrepared, type IngestOptions, type Prepared } from "./quarantine/ingest.ts";
import type { Store } from "./storage/db.ts";
import { NativeWriter } from "./storage/native-writer.ts";

declare const self: { onmessage: ((e: MessageEvent) => void) | null; postMessage(data: unknown): void };

interface Job {
  id: number;
  file: { path: string; busyTimeoutMs: number };
  prepared: Prepared[];
  opts: IngestOptions;
}

/** ingest needs only the native connection of a store */
const stores = new Map<string, Store>();
function storeFor(file: Job["file"]): Store {
  let store = stores.get(file.path);
  if (!store) {
    const writer = new NativeWriter(file.path, file.busyTimeoutMs);
    stores.set(file.path, (store = { kind: "file", native: () => writer } as unknown as Store));
  }
  return store;
}

self.onmessage = (e: MessageEvent) => {
  const job = e.data as Job | { close: string };
  if ("close" in job) {
    stores.get(job.close)?.native()?.close();
    stores.delete(job.close);
    return;
  }
  Promise.resolve()
    .then(() => ingestPrepared(storeFor(job.file), job.prepared, job.opts))
    .then(
      (results) => self.postMessage({ id: job.id, results }),
      (err) => self.postMessage({ id: job.id, error: String((err as Error).message ?? err) }),
    );
};

self.postMessage({ ready: true });
