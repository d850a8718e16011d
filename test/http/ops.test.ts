/**
 * Operator endpoints over real HTTP: /healthz, /readyz (database, outbox, listeners;
 * 503 naming the failed check, and recovery), /metrics against the Prometheus text
 * exposition grammar (and counters moving), /status, and the status page.
 * IMAP login counters moved by real logins: imap-metrics.test.ts; the separate ops listener:
 * ops-listener.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "@libsql/client";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { release } from "../../src/quarantine/actions.ts";
import { checkExposition, message, PROBLEM, startTestServer, type TestServer } from "./helpers.ts";

let s: TestServer;
let listenersUp = true;
before(async () => {
  s = await startTestServer({
    listeners: () => [
      { name: "imaps", protocol: "IMAP", host: "0.0.0.0", port: 993, tls: "implicit", bound: listenersUp },
      { name: "imap", protocol: "IMAP", host: "0.0.0.0", port: 143, tls: "starttls", bound: true },
    ],
    checkTimeoutMs: 500,
  });
  for (let i = 0; i < 3; i++) await ingestOne(s.store, { raw: message(`m${i}`), recipients: [`u${i}@example.com`], score: 9 }, { defaultRetentionDays: 14 });
});
after(async () => {
  await s.close();
});

test("/healthz answers ok", async () => {
  const r = await fetch(`${s.base}/healthz`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "ok");
});

test("/readyz: 200 when ready; 503 naming the database when it fails, and recovers", async () => {
  const ok = await fetch(`${s.base}/readyz`);
  assert.equal(ok.status, 200);
  const body = await ok.json();
  assert.deepEqual(body.checks, { database: "ok", outbox: "ok", listeners: "ok" });

  // The database stops answering (the tests run as root, so chmod 000 would not stop
  // SQLite; a closed client is the same failure seen from the app).
  const real = s.store.client;
  const dead = createClient({ url: `file:${s.dbPath}` });
  dead.close();
  s.store.client = dead;
  try {
    const down = await fetch(`${s.base}/readyz`);
    assert.equal(down.status, 503);
    assert.ok(down.headers.get("content-type")?.startsWith(PROBLEM));
    const p = await down.json();
    assert.equal(p.checks.database, "failed");
    assert.ok(p.failed.includes("database"));
    assert.match(p.detail, /database failed/);
  } finally {
    s.store.client = real;
  }
  assert.equal((await fetch(`${s.base}/readyz`)).status, 200, "recovers");

  // A database that hangs: the check times out
  s.store.client = { ...real, execute: () => new Promise(() => {}) } as typeof real;
  try {
    const slow = await fetch(`${s.base}/readyz`);
    assert.equal(slow.status, 503);
    assert.equal((await slow.json()).checks.database, "timeout");
  } finally {
    s.store.client = real;
  }
});

test("/readyz: 503 naming the outbox when a release is overdue, and the listeners when one is down", async () => {
  const scope = { kind: "admin" as const, accountId: 0, login: "test" };
  const r = await s.store.client.execute("SELECT id FROM messages WHERE state = 'caught' ORDER BY id LIMIT 1");
  const [id] = await release(s.store, { scope, via: "test" }, [Number(r.rows[0].id)], "release");
  assert.equal((await fetch(`${s.base}/readyz`)).status, 200, "a fresh pending release is fine");
  await s.store.client.execute({ sql: "UPDATE outbox SET next_attempt_at = ? WHERE message_id = ?", args: [Date.now() - 16 * 60_000, id] });
  const stuck = await fetch(`${s.base}/readyz`);
  assert.equal(stuck.status, 503);
  const p = await stuck.json();
  assert.deepEqual(p.failed, ["outbox"]);
  await s.store.client.execute({ sql: "UPDATE outbox SET state = 'done' WHERE message_id = ?", args: [id] });
  assert.equal((await fetch(`${s.base}/readyz`)).status, 200);

  listenersUp = false;
  try {
    const down = await fetch(`${s.base}/readyz`);
    assert.equal(down.status, 503);
    assert.deepEqual((await down.json()).failed, ["listeners"]);
  } finally {
    listenersUp = true;
  }
});

test("/metrics parses as Prometheus text and has the gauges; counters move", async () => {
  const r1 = await fetch(`${s.base}/metrics`);
  assert.equal(r1.status, 200);
  assert.match(r1.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const m1 = checkExposition(await r1.text());
  assert.equal(m1.get('quarantined_quarantine_messages{direction="in",state="caught"}'), 2);
  assert.equal(m1.get('quarantined_quarantine_messages{direction="in",state="releasing"}'), 1);
  assert.equal(m1.get('quarantined_outbox_items{state="done"}'), 1);
  assert.equal(m1.get("quarantined_outbox_oldest_pending_seconds"), 0);
  assert.equal(m1.get("quarantined_metrics_database_up"), 1);
  assert.equal(m1.get("quarantined_word_index_queued_blobs"), 0);
  assert.ok(m1.get('quarantined_process_memory_bytes{kind="rss"}')! > 1e6);
  assert.ok(m1.has("quarantined_event_loop_lag_seconds"));
  assert.ok(m1.has('quarantined_build_info{version="test"}'));
  const healthz = 'quarantined_http_requests_total{method="GET",route="/healthz",status="200"}';
  const healthzBefore = m1.get(healthz) ?? 0;

  // more HTTP requests and a new quarantine row move the counters and gauges
  await fetch(`${s.base}/healthz`).then((r) => r.text());
  await ingestOne(s.store, { raw: message("late"), recipients: ["late@example.com"] }, { defaultRetentionDays: 14 });
  const m2 = checkExposition(await (await fetch(`${s.base}/metrics`)).text());
  assert.equal(m2.get(healthz), healthzBefore + 1);
  assert.equal(m2.get('quarantined_quarantine_messages{direction="in",state="caught"}'), 3, "gauges re-read the database (ttl 0 here)");
  assert.ok(m2.get('quarantined_http_request_seconds_count{route="/metrics"}')! >= 1);
});

test("/status JSON and the status page", async () => {
  const st = await (await fetch(`${s.base}/status`)).json();
  assert.equal(st.version, "test");
  assert.equal(st.database, "file");
  assert.equal(st.listeners.length, 2);
  assert.equal(typeof st.counts.caught, "number");
  assert.ok(st.certificateNotAfter);
  const page = await fetch(`${s.base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  const html = await page.text();
  assert.match(html, /<svg [^>]*role="img"/);
  assert.equal((html.match(/<rect [^>]*fill="#c0392b"><title>/g) ?? []).length, 14, "14 days of caught bars");
  assert.match(html, /mail\.example\.test/);
  assert.match(html, /89 days|90 days/);
  assert.ok(!/<script/i.test(html), "no JavaScript");
});
