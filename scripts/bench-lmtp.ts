/**
 * LMTP ingest benchmark: messages/s for the shared corpus delivered by the shared load client
 * (../shared/bench/imap-bench.mjs lmtp, a separate node process) into our LMTP listener running
 * in this process, on a fresh database. A 250 means the transaction committed (WAL, the
 * SQLite default synchronous=FULL), the same durability Dovecot gives with fsync.
 *
 *   bun scripts/bench-lmtp.ts [--count 2000] [--concurrency 1,4,16] [--runs 1] [--dovecot]
 *
 * Each concurrency (LMTP connections of the load client) is measured in turn; a table of
 * medians and ratios ends the output.
 *
 * --dovecot also runs the same workload against the reference Dovecot on 127.0.0.1:21024
 * (start it first with ../shared/bench/dovecot/setup-dovecot.sh) and prints the ratio.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { startLmtp } from "../src/lmtp/server.ts";
import { PreparePool } from "../src/quarantine/prepare-pool.ts";
import { WordIndexer } from "../src/quarantine/word-index.ts";
import { WriterThread } from "../src/storage/writer-thread.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { migrate, openStore } from "../src/storage/db.ts";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "1,4,16" },
    runs: { type: "string", default: "1" },
    corpus: { type: "string", default: "/tmp/lmtpcorpus" },
    bench: { type: "string", default: "/work/shared/bench" },
    "group-commit-ms": { type: "string", default: "0" },
    dovecot: { type: "boolean", default: false },
  },
});
const count = Number(values.count);
const concurrencies = values.concurrency!.split(",").map(Number);
if (concurrencies.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`--concurrency: positive integers separated by commas, not ${values.concurrency}`);
let concurrency = concurrencies[0];
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
/** bytes of the messages the load client delivers (the first `count` of the corpus) */
const rawBytes = (JSON.parse(readFileSync(join(values.corpus!, "manifest.json"), "utf8")) as { messages: { file?: string; size: number }[] }).messages
  .filter((m) => m.file)
  .slice(0, count)
  .reduce((n, m) => n + m.size, 0);

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
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// One prepare pool and one writer thread for the whole process, as in `quarantined serve` (its
// threads live as long as the server); each run gets a fresh database and LMTP listener.
const pool = new PreparePool();
await pool.workersReady();
const writer = await WriterThread.start();

/** One delivery run into a fresh database; then the word index is caught up and timed. */
/** CPU seconds of this process's threads by thread name, from /proc (Linux only; else empty). */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return out;
}

/** "name µs, ..." per message for the threads that used CPU between two threadCpu() readings. */
function cpuByThread(before: Map<string, number>, after: Map<string, number>, messages: number): string {
  const used = [...after].map(([name, s]) => [name, s - (before.get(name) ?? 0)] as const).filter(([, s]) => s > 0.005);
  return used.sort((a, b) => b[1] - a[1]).map(([name, s]) => `${name} ${((s * 1e6) / messages).toFixed(0)}`).join(", ");
}

async function oursRun(label: string): Promise<BenchLine> {
  const dir = mkdtempSync(join(tmpdir(), "bench-lmtp-"));
  const store = await openStore({ url: `file:${join(dir, "quarantine.db")}` });
  await migrate(store);
  await store.client.execute({ sql: "INSERT INTO domains (name, created_at) VALUES ('example.org', ?)", args: [Date.now()] });
  const config = v.parse(configSchema, { dataDir: dir, lmtp: { enabled: true, groupCommitMs: Number(values["group-commit-ms"]) } });
  const words = new WordIndexer(store, pool); // not started: caught up explicitly below
  const srv = await startLmtp({ store, config, host: "127.0.0.1", port: 0, pool, words, writer: writer ?? false });
  const cpu0 = threadCpu();
  const b = await lmtpBench(srv.port, label, ["--server-pid", String(process.pid)]);
  const cpu = cpuByThread(cpu0, threadCpu(), count);
  const stored = Number((await store.client.execute("SELECT count(*) AS n FROM messages")).rows[0].n);
  const t0 = performance.now();
  const indexed = await words.catchUp();
  const indexS = (performance.now() - t0) / 1000;
  const pages = (await store.client.execute("SELECT (SELECT page_count FROM pragma_page_count) AS pages, (SELECT freelist_count FROM pragma_freelist_count) AS free, (SELECT page_size FROM pragma_page_size) AS size")).rows[0];
  const [dbBytes, freeBytes] = [Number(pages.pages) * Number(pages.size), Number(pages.free) * Number(pages.size)];
  await srv.stop();
  await words.stop();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify(b));
  console.log(
    `${label}: ${rate(b).toFixed(1)} msg/s, ${b.mb_per_s ?? "?"} MB/s, p50 ${b.p50_ms ?? "?"} ms, p95 ${b.p95_ms ?? "?"} ms; ${stored} rows stored, ` +
      `${srv.stats.commits} transactions (${(stored / Math.max(1, srv.stats.commits)).toFixed(1)} msgs/commit, ${srv.stats.threadCommits} on the writer thread); ` +
      `word index and compact form for ${indexed} messages (${words.compacted} compacted) built afterwards in ${indexS.toFixed(2)} s (${(indexed / indexS).toFixed(0)} msg/s); ` +
      `deliveries and deferred work together ${(count / ((b.wall_s ?? NaN) + indexS)).toFixed(0)} msg/s; ` +
      `CPU µs per message by thread: ${cpu || "n/a"}; database ${(dbBytes / 1e6).toFixed(1)} MB (${(dbBytes / rawBytes).toFixed(2)}× the mail), ` +
      `${(freeBytes / 1e6).toFixed(1)} MB of it free pages left by the plain forms (reused by later deliveries)`,
  );
  if (!b.ok || stored !== count) console.log(`WARNING: ok=${b.ok} stored=${stored} expected=${count} ${b.error ?? ""}`);
  return b;
}

const dovecotPid = "/tmp/bench-dovecot/run/master.pid";
const withDovecot = values.dovecot && existsSync(dovecotPid);
if (values.dovecot && !withDovecot) console.log("dovecot: not running (start ../shared/bench/dovecot/setup-dovecot.sh); no ratio");
/** The sink's Maildir; emptied before each Dovecot run, as each of our runs starts on a fresh database. */
const dovecotSinkMaildir = "/tmp/bench-dovecot/mail/sink@example.org/Maildir";
async function dovecotRun(label: string): Promise<BenchLine> {
  const master = readFileSync(dovecotPid, "utf8").trim();
  // Without this, every run delivers into a bigger mailbox and Dovecot slows run by run
  // (seen: 493, 440, 390, 337 msg/s over 20,000 accumulated messages).
  rmSync(dovecotSinkMaildir, { recursive: true, force: true });
  const d = await lmtpBench(21024, label, ["--server-tree", master]);
  console.log(JSON.stringify(d));
  console.log(`${label}: ${rate(d).toFixed(1)} msg/s, p50 ${d.p50_ms ?? "?"} ms, p95 ${d.p95_ms ?? "?"} ms`);
  return d;
}

// Per concurrency: a warm-up run of each first (not counted): a server that has run for a while
// has its code compiled by the JIT; Dovecot's LMTP processes exist. Then the two alternate.
const table: string[] = [];
for (const c of concurrencies) {
  concurrency = c;
  await oursRun(`quarantined-lmtp-c${c}-warmup`);
  if (withDovecot) await dovecotRun(`dovecot-lmtp-c${c}-warmup`);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let run = 1; run <= Number(values.runs); run++) {
    ours.push(rate(await oursRun(`quarantined-lmtp-c${c}-r${run}`)));
    if (withDovecot) theirs.push(rate(await dovecotRun(`dovecot-lmtp-c${c}-r${run}`)));
  }
  const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" / ");
  console.log(`quarantined LMTP ingest: ${median(ours).toFixed(1)} msg/s (median of ${ours.length}: ${list(ours)}), ${count} messages, concurrency ${c}`);
  if (withDovecot) {
    console.log(`dovecot LMTP: ${median(theirs).toFixed(1)} msg/s (median of ${theirs.length}: ${list(theirs)})`);
    console.log(`ratio quarantined/dovecot = ${(median(ours) / median(theirs)).toFixed(2)}×`);
  }
  table.push(
    `| ${c} | **${median(ours).toFixed(0)}** (${list(ours)}) | ` +
      (withDovecot ? `**${median(theirs).toFixed(0)}** (${list(theirs)}) | ${(median(ours) / median(theirs)).toFixed(2)}× |` : "– | – |"),
  );
}
pool.close();
writer?.close();
console.log(`\n| connections | quarantined msg/s | Dovecot msg/s | ratio |\n|---|---|---|---|\n${table.join("\n")}`);
