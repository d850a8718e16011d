/**
 * Release throughput: N quarantined messages released in one action, delivered by the real
 * outbox worker over SMTP to an in-process smtp-server sink. Prints messages/s from the
 * release() call to the last recorded delivery (every outcome committed).
 *
 *   bun scripts/bench-release.ts [--count 2000] [--concurrency 8] [--size 15000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { SMTPServer } from "smtp-server";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { OutboxWorker } from "../src/delivery/outbox.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { release } from "../src/quarantine/actions.ts";
import { ingestBatch, type IngestItem } from "../src/quarantine/ingest.ts";
import { migrate, openStore } from "../src/storage/db.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "8" },
    size: { type: "string", default: "15000" },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
setLogQuiet(true);

let received = 0;
let bytes = 0;
const sink = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  closeTimeout: 200,
  onData(stream, _s, cb) {
    stream.on("data", (c: Buffer) => (bytes += c.length));
    stream.on("end", () => {
      received++;
      cb(null, "OK");
    });
  },
});
await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
const sinkPort = (sink.server.address() as { port: number }).port;

const dir = mkdtempSync(join(tmpdir(), "bench-release-"));
const store = await openStore({ url: `file:${join(dir, "quarantine.db")}` });
await migrate(store);
await store.client.execute({ sql: "INSERT INTO domains (name, route, created_at) VALUES ('example.com', ?, ?)", args: [`127.0.0.1:${sinkPort}`, Date.now()] });

const filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
const items: IngestItem[] = [];
for (let i = 0; i < count; i++) {
  const body = filler.repeat(Math.max(1, Math.floor(Number(values.size) / filler.length)));
  const raw = new TextEncoder().encode(`From: s${i}@bad.example\r\nTo: u${i % 50}@example.com\r\nSubject: offer ${i}\r\nMessage-ID: <${i}@bench>\r\n\r\n${body}`);
  items.push({ raw, recipients: [`u${i % 50}@example.com`], sender: `s${i}@bad.example`, score: 10, reason: "BENCH" });
}
const ids: number[] = [];
for (let i = 0; i < items.length; i += 500) for (const r of await ingestBatch(store, items.slice(i, i + 500), { defaultRetentionDays: 14 })) ids.push(...r.ids);

const config = v.parse(configSchema, { dataDir: dir, smtp: { concurrency } });
const worker = new OutboxWorker({ store, config, pollMs: 500 }).start();
const t0 = performance.now();
await release(store, { scope: { kind: "admin", accountId: 1, login: "admin" }, via: "bench" }, ids, "release");
const tQueued = performance.now();
worker.kick();
for (;;) {
  const r = await store.client.execute("SELECT count(*) AS n FROM outbox WHERE state = 'pending'");
  if (Number(r.rows[0].n) === 0) break;
  await new Promise((res) => setTimeout(res, 20));
}
await worker.whenIdle();
const t1 = performance.now();
const states = await store.client.execute("SELECT state, count(*) AS n FROM messages GROUP BY state");
await worker.stop();
store.close();
await new Promise<void>((r) => sink.close(() => r()));
rmSync(dir, { recursive: true, force: true });

const secs = (t1 - t0) / 1000;
console.log(JSON.stringify({ bench: "release", count, concurrency, release_call_ms: Math.round(tQueued - t0), wall_s: Number(secs.toFixed(3)), msgs_per_s: Number((count / secs).toFixed(1)), delivered: received, mb: Number((bytes / 1e6).toFixed(1)), worker: worker.stats, states: Object.fromEntries(states.rows.map((r) => [r.state, Number(r.n)])) }));
console.log(`release throughput: ${(count / secs).toFixed(1)} msg/s (${count} messages of ~${values.size} B, ${concurrency} SMTP connections; release() itself ${Math.round(tQueued - t0)} ms)`);
