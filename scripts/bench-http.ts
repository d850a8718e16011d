/**
 * /healthz and /metrics throughput and latency with 50 concurrent clients (keep-alive fetch),
 * against the app served on 127.0.0.1 with a temp database holding some quarantine rows.
 *   bun scripts/bench-http.ts [seconds per endpoint, default 5] [clients, default 50]
 * Prints one line per endpoint: requests/s, p50, p99, max (target p99 < 50 ms).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { createHttpApp } from "../src/http/app.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { ingestBatch } from "../src/quarantine/ingest.ts";
import { serveHttp } from "../src/runtime/http-serve.ts";
import { migrate, openStore } from "../src/storage/db.ts";

const seconds = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 50);
setLogQuiet(true);
const dir = mkdtempSync(join(tmpdir(), "qbench-"));
const store = await openStore({ url: `file:${join(dir, "q.db")}` });
await migrate(store);
const items = Array.from({ length: 2000 }, (_, i) => ({
  raw: new TextEncoder().encode(`From: a${i}@spam.example\r\nSubject: bench ${i}\r\nMessage-ID: <${i}@b>\r\n\r\nx ${i}\r\n`),
  recipients: [`u${i % 50}@example.com`],
  score: 10,
}));
await ingestBatch(store, items, { defaultRetentionDays: 14 });
const app = createHttpApp({ version: "bench", startedAt: Date.now(), readiness: {}, store, config: v.parse(configSchema, { dataDir: dir }) });
const http = await serveHttp(app.fetch, "127.0.0.1", 0);
const base = `http://127.0.0.1:${http.port}`;

async function run(path: string): Promise<void> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const r = await fetch(base + path);
          await r.arrayBuffer();
          if (r.status !== 200) errors++;
        } catch {
          errors++;
        }
        lat.push(performance.now() - t0);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  const rt = (globalThis as { Bun?: unknown }).Bun ? "bun" : (globalThis as { Deno?: unknown }).Deno ? "deno" : "node";
  console.log(
    `${rt} ${path.padEnd(9)} ${clients} clients ${seconds}s: ${(lat.length / seconds).toFixed(0)} req/s, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lat[lat.length - 1].toFixed(2)} ms, errors ${errors}`,
  );
}

await run("/healthz");
await run("/metrics");
await http.stop();
app.dispose();
store.close();
rmSync(dir, { recursive: true, force: true });
