/**
 * /healthz and /metrics throughput and latency with 50 concurrent clients (keep-alive fetch).
 *
 *   bun scripts/bench-http.ts [seconds per endpoint, default 5] [clients, default 50]
 *     the app served in this process on 127.0.0.1 with a temp database holding 2000 quarantine rows.
 *
 *   bun scripts/bench-http.ts --imap-load [seconds] [clients] [--messages 300] [--imap-concurrency 16] [--ops]
 *                             [--imap-bench PATH]
 *     the whole server (`quarantined serve`) in a child process with a temp data dir and
 *     --messages ingested rows; each endpoint is measured once idle and once while
 *     imap-bench.mjs (a third process) runs IMAPS login loops (connect+TLS, LOGIN, SELECT Caught,
 *     LOGOUT) at it. --ops measures the separate ops listener (http.ops) instead of the main one.
 *     PATH defaults to $IMAP_BENCH or ../shared/bench/imap-bench.mjs beside the repository.
 *
 * Prints one line per endpoint and condition: requests/s, p50, p99, max (target p99 < 50 ms), and
 * in --imap-load mode the IMAP load's own figures (logins/s, p99, errors).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { createHttpApp } from "../src/http/app.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { ingestBatch } from "../src/quarantine/ingest.ts";
import { serveHttp } from "../src/runtime/http-serve.ts";
import { databaseUrl, migrate, openStore } from "../src/storage/db.ts";

const { values: flags, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    "imap-load": { type: "boolean" },
    ops: { type: "boolean" },
    messages: { type: "string" },
    "imap-concurrency": { type: "string" },
    "imap-bench": { type: "string" },
  },
  allowPositionals: true,
  strict: true,
});
const seconds = Number(positionals[0] ?? 5);
const clients = Number(positionals[1] ?? 50);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rt = (globalThis as { Bun?: unknown }).Bun ? "bun" : (globalThis as { Deno?: unknown }).Deno ? "deno" : "node";
setLogQuiet(true);

function items(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    raw: new TextEncoder().encode(`From: a${i}@spam.example\r\nTo: u${i % 50}@example.com\r\nSubject: bench ${i}\r\nMessage-ID: <${i}@b>\r\nDate: Mon, 01 Dec 2025 10:00:00 +0000\r\n\r\nx ${i}\r\n`),
    recipients: [`u${i % 50}@example.com`],
    sender: `a${i}@spam.example`,
    score: 10,
  }));
}

interface Figures {
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

async function measure(base: string, path: string, label = ""): Promise<Figures> {
  const lat: number[] = [];
  let errors = 0;
  const t0all = performance.now();
  const end = t0all + seconds * 1000;
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
  const wall = (performance.now() - t0all) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  const f = { requests: lat.length, perSecond: lat.length / wall, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1], errors };
  console.log(
    `${rt} ${path.padEnd(9)} ${clients} clients ${seconds}s${label}: ${f.perSecond.toFixed(0)} req/s, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, max ${f.max.toFixed(2)} ms, errors ${errors}${f.p99 < 50 ? "" : "  (p99 over the 50 ms target)"}`,
  );
  return f;
}

/* ---------------------------------------------------------------- in-process (default) */
async function inProcess(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "qbench-"));
  const store = await openStore({ url: `file:${join(dir, "q.db")}` });
  await migrate(store);
  await ingestBatch(store, items(2000), { defaultRetentionDays: 14 });
  const app = createHttpApp({ version: "bench", startedAt: Date.now(), readiness: {}, store, config: v.parse(configSchema, { dataDir: dir }) });
  const http = await serveHttp(app.fetch, "127.0.0.1", 0);
  const base = `http://127.0.0.1:${http.port}`;
  await measure(base, "/healthz");
  await measure(base, "/metrics");
  await http.stop();
  app.dispose();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}

/* ---------------------------------------------------------------- server in a child, IMAP load beside */
function waitExit(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once("exit", (code) => r(code)));
}

async function underImapLoad(): Promise<number> {
  const messages = Number(flags.messages ?? 300);
  const imapConcurrency = Number(flags["imap-concurrency"] ?? 16);
  const imapBench = flags["imap-bench"] ?? process.env.IMAP_BENCH ?? resolve(root, "..", "shared", "bench", "imap-bench.mjs");
  if (!existsSync(imapBench)) {
    console.error(`bench-http: ${imapBench} not found (give --imap-bench PATH or IMAP_BENCH)`);
    return 1;
  }
  const password = "bench-admin-pass";
  const dir = mkdtempSync(join(tmpdir(), "qbench-load-"));
  let server: ChildProcess | undefined;
  try {
    // a few hundred caught messages, ingested before the server starts
    const store = await openStore({ url: databaseUrl(dir) });
    await migrate(store);
    await ingestBatch(store, items(messages), { defaultRetentionDays: 14 });
    store.close();

    const cfgPath = join(dir, "config.json");
    writeFileSync(
      cfgPath,
      JSON.stringify({
        dataDir: dir,
        host: "127.0.0.1",
        imap: { implicitTls: { port: 0 }, starttls: { enabled: false } },
        http: { port: 0, ...(flags.ops ? { ops: { enabled: true, port: 0 } } : {}) },
        admin: { password },
        log: { level: "info" },
      }),
    );
    const cmd = rt === "deno" ? [process.execPath, "run", "-A", join(root, "src/main.ts")] : [process.execPath, join(root, "src/main.ts")];
    server = spawn(cmd[0], [...cmd.slice(1), "serve", "--config", cfgPath], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    const ports = await new Promise<{ imaps: number; http?: number; ops?: number }>((res, rej) => {
      let buf = "";
      const timer = setTimeout(() => rej(new Error("server did not start in 60 s")), 60_000);
      server!.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const e = JSON.parse(line);
            if (e.event === "server.started") {
              clearTimeout(timer);
              res(e.ports);
            }
          } catch {}
        }
      });
      server!.once("exit", (code) => rej(new Error(`server exited with ${code}`)));
    });
    server.stdout!.resume(); // keep draining its log
    const httpPort = flags.ops ? ports.ops! : ports.http!;
    const base = `http://127.0.0.1:${httpPort}`;
    for (let i = 0; i < 100 && (await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    console.log(`${rt} server pid ${server.pid}: ${messages} messages, imaps ${ports.imaps}, ${flags.ops ? "ops" : "http"} ${httpPort}; ${clients} HTTP clients`);

    const idle = { healthz: await measure(base, "/healthz", ", idle"), metrics: await measure(base, "/metrics", ", idle") };

    // the IMAP load: runs a little longer than both measurements together
    const warmup = 2;
    const imapSeconds = 2 * seconds + 2;
    const load = spawn(
      "node",
      [imapBench, "login", "--host", "127.0.0.1", "--port", String(ports.imaps), "--tls", "implicit", "--insecure", "--user", "admin", "--pass", password,
        "--folder", "Caught", "--concurrency", String(imapConcurrency), "--seconds", String(imapSeconds), "--warmup", String(warmup), "--label", "bench-http"],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let loadOut = "";
    load.stdout!.on("data", (d: Buffer) => (loadOut += d.toString()));
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const label = `, IMAP load ${imapConcurrency} login loops`;
    const busy = { healthz: await measure(base, "/healthz", label), metrics: await measure(base, "/metrics", label) };
    const loadRunning = load.exitCode === null;
    const code = await waitExit(load);
    let imap: Record<string, unknown> = {};
    try {
      imap = JSON.parse(loadOut.trim().split("\n").pop() ?? "{}");
    } catch {}
    console.log(
      `imap-bench login (concurrency ${imapConcurrency}, ${imapSeconds}s, exit ${code}${loadRunning ? "" : ", ENDED BEFORE THE HTTP RUNS"}): ${imap.logins_per_s} logins/s, p50 ${imap.p50_ms} ms, p99 ${imap.p99_ms} ms, errors ${imap.errors}`,
    );
    const worst = Math.max(busy.healthz.p99, busy.metrics.p99);
    console.log(
      `summary ${rt}: under IMAP load /healthz ${busy.healthz.perSecond.toFixed(0)} req/s p99 ${busy.healthz.p99.toFixed(2)} ms (idle ${idle.healthz.perSecond.toFixed(0)}, ${idle.healthz.p99.toFixed(2)}), /metrics ${busy.metrics.perSecond.toFixed(0)} req/s p99 ${busy.metrics.p99.toFixed(2)} ms (idle ${idle.metrics.perSecond.toFixed(0)}, ${idle.metrics.p99.toFixed(2)}); target p99 < 50 ms: ${worst < 50 ? "met" : "MISSED"}`,
    );
    return loadRunning && code === 0 ? 0 : 1;
  } finally {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      await waitExit(server);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (flags["imap-load"]) process.exitCode = await underImapLoad();
else await inProcess();
