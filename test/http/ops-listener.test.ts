/**
 * The separate ops listener (config http.ops) over real HTTP, with the full server: /healthz,
 * /readyz, /metrics and /status move there and leave the main listener, which keeps the status
 * page, onboarding and the admin API; `quarantined healthcheck` follows /readyz to it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { run as healthcheck } from "../../src/cli/healthcheck.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { checkExposition, PROBLEM } from "./helpers.ts";

let t: TestServer;
let ops: number;
before(async () => {
  t = await startTestServer({ http: { port: 0, ops: { enabled: true, host: "127.0.0.1", port: 0 } } });
  ops = t.server.ports.ops!;
});
after(async () => {
  await t?.stop();
});

const main = (path: string) => fetch(`http://127.0.0.1:${t.http}${path}`);
const opsGet = (path: string) => fetch(`http://127.0.0.1:${ops}${path}`);

test("the ops listener is bound on its own port", () => {
  assert.ok(ops > 0);
  assert.notEqual(ops, t.http);
});

test("/healthz, /readyz, /metrics and /status are served on the ops listener", async () => {
  const h = await opsGet("/healthz");
  assert.equal(h.status, 200);
  assert.equal(await h.text(), "ok");

  const r = await opsGet("/readyz");
  assert.equal(r.status, 200);
  const ready = await r.json();
  assert.equal(ready.status, "ready");
  assert.deepEqual(Object.keys(ready.checks).sort(), ["database", "imap", "listeners", "outbox"]);

  const m = await opsGet("/metrics");
  assert.equal(m.status, 200);
  assert.match(m.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const samples = checkExposition(await m.text());
  assert.ok(samples.has("quarantined_metrics_database_up"));

  const st = await (await opsGet("/status")).json();
  const names = st.listeners.map((l: { name: string }) => l.name);
  assert.deepEqual(names, ["imaps", "imap", "http", "ops"]);
  const o = st.listeners.find((l: { name: string }) => l.name === "ops");
  assert.equal(o.port, ops);
  assert.equal(o.bound, true);
});

test("the main listener no longer serves them (404 problem) but keeps the page, onboarding and the API", async () => {
  for (const path of ["/healthz", "/readyz", "/metrics", "/status"]) {
    const r = await main(path);
    assert.equal(r.status, 404, path);
    assert.ok(r.headers.get("content-type")?.startsWith(PROBLEM), path);
    await r.body?.cancel();
  }
  const page = await main("/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<svg /);
  const auto = await main("/mail/config-v1.1.xml?emailaddress=a@example.com");
  assert.equal(auto.status, 200);
  assert.match(await auto.text(), /<clientConfig/);
  assert.equal((await main("/api/v1/openapi.json")).status, 200);
  const api = await main("/api/v1/domains");
  assert.equal(api.status, 401, "the admin API is on the main listener (and wants a token)");
  await api.body?.cancel();

  // and the ops listener serves nothing else
  for (const path of ["/", "/api/v1/openapi.json", "/mail/config-v1.1.xml"]) {
    const r = await opsGet(path);
    assert.equal(r.status, 404, path);
    await r.body?.cancel();
  }
});

test("quarantined healthcheck probes /readyz on the ops listener when it is enabled", async () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  try {
    const withOps = join(t.dir, "ops.json");
    writeFileSync(withOps, JSON.stringify({ host: "127.0.0.1", http: { port: t.http, ops: { enabled: true, port: ops } } }));
    assert.equal(await healthcheck(["--config", withOps]), 0, out.join(""));
    assert.match(out.join(""), /^200 .*"ready"/m);

    // the same server seen through a config without the ops listener: /readyz on the main port is gone
    out.length = 0;
    const without = join(t.dir, "main.json");
    writeFileSync(without, JSON.stringify({ host: "127.0.0.1", http: { port: t.http } }));
    assert.equal(await healthcheck(["--config", without]), 1);
    assert.match(out.join(""), /^404 /m);
  } finally {
    process.stdout.write = write;
  }
});
