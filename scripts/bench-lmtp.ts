/**
 * LMTP ingest benchmark: messages/s for the shared corpus delivered by the shared load client
 * (../shared/bench/imap-bench.mjs lmtp, a separate node process) into our LMTP listener running
 * in this process, on a fresh database. A 250 means the transaction committed (WAL, the
 * SQLite default synchronous=FULL), the same durability Dovecot gives with fsync.
 *
 *   bun scripts/bench-lmtp.ts [--count 2000] [--concurrency 4] [--runs 1] [--dovecot]
 *
 * --dovecot also runs the same workload against the reference Dovecot on 127.0.0.1:21024
 * (start it first with ../shared/bench/dovecot/setup-dovecot.sh) and prints the ratio.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { startLmtp } from "../src/lmtp/server.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { migrate, openStore } from "../src/storage/db.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "4" },
    runs: { type: "string", default: "1" },
    corpus: { type: "string", default: "/tmp/lmtpcorpus" },
    bench: { type: "string", default: "/work/shared/bench" },
    "group-commit-ms": { type: "string", default: "0" },
    dovecot: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
setLogQuiet(true);

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn("node", args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", () => resolve(out));
  });
}

if (!existsSync(join(values.corpus!, "manifest.json"))) {
  console.log(`generating corpus: ${count} messages, seed 1 → ${values.corpus}`);
  await node([join(values.bench!, "corpus.mjs"), "--count", String(count), "--seed", "1", "--out", values.corpus!]);
}

interface BenchLine {
  ok: boolean;
  msgs_per_s?: number;
  messages_per_s?: number;
  mb_per_s?: number;
  p50_ms?: number;
  p95_ms?: number;
  wall_s?: number;
  server_cpu_pct?: number;
  error?: string;
  [k: string]: unknown;
}

async function lmtpBench(port: number, label: string, pidSpec: string[]): Promise<BenchLine> {
  const out = await node([
    join(values.bench!, "imap-bench.mjs"), "lmtp", "--host", "127.0.0.1", "--port", String(port), "--corpus", values.corpus!,
    "--count", String(count), "--rcpt", "sink@example.org", "--concurrency", String(concurrency), "--label", label, ...pidSpec,
  ]);
  const line = out.trim().split("\n").pop() ?? "{}";
  return JSON.parse(line) as BenchLine;
}

const rate = (b: BenchLine) => Number(b.msgs_per_s ?? b.messages_per_s ?? NaN);
const results: BenchLine[] = [];
for (let run = 1; run <= Number(values.runs); run++) {
  const dir = mkdtempSync(join(tmpdir(), "bench-lmtp-"));
  const store = await openStore({ url: `file:${join(dir, "quarantine.db")}` });
  await migrate(store);
  await store.client.execute({ sql: "INSERT INTO domains (name, created_at) VALUES ('example.org', ?)", args: [Date.now()] });
  const config = v.parse(configSchema, { dataDir: dir, lmtp: { enabled: true, groupCommitMs: Number(values["group-commit-ms"]) } });
  const srv = await startLmtp({ store, config, host: "127.0.0.1", port: 0 });
  const b = await lmtpBench(srv.port, `quarantined-lmtp-r${run}`, ["--server-pid", String(process.pid)]);
  const stored = Number((await store.client.execute("SELECT count(*) AS n FROM messages")).rows[0].n);
  await srv.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  results.push(b);
  console.log(JSON.stringify(b));
  console.log(`run ${run}: ${rate(b).toFixed(1)} msg/s, ${b.mb_per_s ?? "?"} MB/s, p50 ${b.p50_ms ?? "?"} ms, p95 ${b.p95_ms ?? "?"} ms; ${stored} rows stored, ${srv.stats.commits} transactions (${(stored / Math.max(1, srv.stats.commits)).toFixed(1)} msgs/commit)`);
  if (!b.ok || stored !== count) console.log(`WARNING: ok=${b.ok} stored=${stored} expected=${count} ${b.error ?? ""}`);
}
const ours = results.map(rate).sort((a, b) => a - b)[Math.floor(results.length / 2)];
console.log(`quarantined LMTP ingest: ${ours.toFixed(1)} msg/s (median of ${results.length}), ${count} messages, concurrency ${concurrency}`);

if (values.dovecot) {
  const pidFile = "/tmp/bench-dovecot/run/master.pid";
  if (!existsSync(pidFile)) {
    console.log("dovecot: not running (start ../shared/bench/dovecot/setup-dovecot.sh); no ratio");
  } else {
    const { readFileSync } = await import("node:fs");
    const master = readFileSync(pidFile, "utf8").trim();
    const d = await lmtpBench(21024, "dovecot-lmtp", ["--server-tree", master]);
    console.log(JSON.stringify(d));
    console.log(`dovecot LMTP: ${rate(d).toFixed(1)} msg/s; ratio quarantined/dovecot = ${(ours / rate(d)).toFixed(2)}×`);
  }
}
