/**
 * Renders the operator status page with sample data and screenshots it with headless
 * Chromium (Debian package `chromium`) into docs/status-page.png.
 *   bun scripts/screenshot-status.ts [out.png]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { configSchema } from "../src/config/schema.ts";
import { createHttpApp } from "../src/http/app.ts";
import { setLogQuiet } from "../src/observability/log.ts";
import { release, remove } from "../src/quarantine/actions.ts";
import { ingestOne } from "../src/quarantine/ingest.ts";
import { serveHttp } from "../src/runtime/http-serve.ts";
import { migrate, openStore } from "../src/storage/db.ts";

const out = resolve(process.argv[2] ?? "docs/status-page.png");
setLogQuiet(true);
const dir = mkdtempSync(join(tmpdir(), "qshot-"));
const store = await openStore({ url: `file:${join(dir, "q.db")}` });
await migrate(store);

// Sample data: 14 days of catches with a weekly rhythm, some releases and expiries.
const day = 86400_000;
const now = Date.now();
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const caughtIds: number[] = [];
for (let d = 13; d >= 0; d--) {
  const n = Math.round(18 + 10 * Math.sin(d / 2) + rnd() * 12);
  const at = now - d * day;
  const rows: unknown[][] = [];
  for (let i = 0; i < n; i++) {
    const raw = new TextEncoder().encode(`From: offers${i}@promo.example\r\nSubject: Offer ${d}-${i}\r\nMessage-ID: <${d}.${i}@promo.example>\r\n\r\nbody ${d} ${i}\r\n`);
    const r = await ingestOne(store, { raw, recipients: [`user${i % 7}@example.com`], score: 6 + rnd() * 10, receivedAt: at }, { defaultRetentionDays: 14, now: at - 3600_000 });
    caughtIds.push(...r.ids);
    if (d > 0 && rnd() < 0.15) rows.push([at - 1800_000, "alice@example.com", "user", "release", r.ids[0], "{}"]);
    if (d > 0 && d < 5 && rnd() < 0.25) rows.push([at - 900_000, "system", "system", "expire", r.ids[0], "{}"]);
  }
  for (const row of rows) await store.client.execute({ sql: "INSERT INTO audit (at, actor, actor_kind, action, message_id, detail) VALUES (?, ?, ?, ?, ?, ?)", args: row as never[] });
}
const admin = { scope: { kind: "admin" as const, accountId: 0, login: "demo" }, via: "demo" };
await release(store, admin, caughtIds.slice(-6, -3), "release");
await release(store, admin, caughtIds.slice(-3, -1), "release-train");
await remove(store, admin, caughtIds.slice(0, 20));

const config = v.parse(configSchema, { hostname: "quarantine.example.com", dataDir: dir });
const app = createHttpApp({
  version: "0.1.0",
  startedAt: now - 3 * day - 4 * 3600_000,
  readiness: {},
  store,
  config,
  listeners: () => [
    { name: "imaps", protocol: "IMAP", host: "0.0.0.0", port: 993, tls: "implicit", bound: true },
    { name: "imap", protocol: "IMAP", host: "0.0.0.0", port: 143, tls: "starttls", bound: true },
    { name: "lmtp", protocol: "LMTP", host: "127.0.0.1", port: 24, tls: "none", bound: true },
    { name: "http", protocol: "HTTP", host: "0.0.0.0", port: 8080, tls: "none", bound: true },
  ],
  certificateNotAfter: () => new Date(now + 61 * day),
});
const http = await serveHttp(app.fetch, "127.0.0.1", 0);

const profile = mkdtempSync(join(tmpdir(), "qshot-chrome-"));
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--hide-scrollbars",
  `--user-data-dir=${profile}`,
  `--screenshot=${out}`,
  "--window-size=1200,900",
  `http://127.0.0.1:${http.port}/`,
];
const code = await new Promise<number | null>((res, rej) => {
  const p = spawn(process.env.CHROMIUM ?? "chromium", args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  p.on("error", rej);
  p.on("close", (c) => {
    if (c !== 0) process.stderr.write(err);
    res(c);
  });
});
await http.stop();
app.dispose();
store.close();
rmSync(dir, { recursive: true, force: true });
rmSync(profile, { recursive: true, force: true });
if (code !== 0) {
  console.error(`chromium exited with ${code}`);
  process.exit(1);
}
console.log(`wrote ${out} (${statSync(out).size} bytes)`);
