/**
 * /metrics counters move when real IMAP logins happen: the full server (IMAP and HTTP
 * listeners, as `quarantined serve` starts them), a good and a bad LOGIN over IMAPS, then the
 * login counters read back from /metrics over HTTP.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";
import { checkExposition } from "./helpers.ts";

let t: TestServer;
before(async () => {
  t = await startTestServer({}, ["alice@example.com"]);
});
after(async () => {
  await t?.stop();
});

async function scrape(): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${t.http}/metrics`);
  assert.equal(r.status, 200);
  return checkExposition(await r.text());
}

/** the sum of the series of a family whose labels include every one of `labels` */
function sum(m: Map<string, number>, family: string, labels: Record<string, string>): number {
  let n = 0;
  for (const [series, value] of m) {
    if (!series.startsWith(`${family}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) n += value;
  }
  return n;
}

test("IMAP logins over IMAPS move quarantined_imap_logins_total by result", async () => {
  const LOGINS = "quarantined_imap_logins_total";
  const m0 = await scrape();
  const ok0 = sum(m0, LOGINS, { result: "ok" });
  const fail0 = sum(m0, LOGINS, { result: "fail" });
  const okUser0 = sum(m0, LOGINS, { result: "ok", kind: "user", mechanism: "LOGIN" });

  const good = await RawClient.connect(t.imaps, true);
  try {
    assert.match(await good.cmd("a", `LOGIN alice@example.com ${PASSWORD}`), /^a OK/m);
    await good.cmd("b", "LOGOUT");
  } finally {
    good.close();
  }
  const bad = await RawClient.connect(t.imaps, true);
  try {
    assert.match(await bad.cmd("a", "LOGIN alice@example.com wrong-password"), /^a NO \[AUTHENTICATIONFAILED\]/m);
  } finally {
    bad.close();
  }

  const m1 = await scrape();
  assert.equal(sum(m1, LOGINS, { result: "ok" }), ok0 + 1, "one successful login counted");
  assert.equal(sum(m1, LOGINS, { result: "fail" }), fail0 + 1, "one failed login counted");
  assert.equal(sum(m1, LOGINS, { result: "ok", kind: "user", mechanism: "LOGIN" }), okUser0 + 1, "labelled by account kind and mechanism");
  assert.ok(m1.has(`${LOGINS}{kind="unknown",mechanism="LOGIN",result="fail"}`), "a failed login has kind unknown");
  // the connection counters moved too (two IMAPS connections)
  const conns = (m: Map<string, number>) => [...m].filter(([k]) => k.startsWith("quarantined_imap_connections_total")).reduce((a, [, v]) => a + v, 0);
  assert.ok(conns(m1) >= conns(m0) + 2, "IMAP connections counted");
});
