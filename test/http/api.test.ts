/**
 * The admin API over real HTTP: tokens and scopes, domains, accounts, the quarantine
 * (ingest, search, pagination, metadata, raw, release, delete, bulk), queues and audit,
 * and the error contract (problem+json, field paths, no echo of secrets or bodies).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { apiCall, apiIngest, assertProblem, message, startTestServer, type ApiCallOptions, type TestServer } from "./helpers.ts";

let s: TestServer;
const call = (path: string, o?: ApiCallOptions) => apiCall(s, path, o);
const ingest = (rcpts: string[], subject: string, params?: Record<string, string>, token?: string) => apiIngest(s, rcpts, subject, params, token);
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});




test("401 without, with a malformed and with an unknown token; the token is not echoed", async () => {
  const none = await call("/api/v1/domains", { token: null });
  assertProblem(none, 401);
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer realm="quarantined"/);
  const bad = await call("/api/v1/domains", { token: null, headers: { authorization: "Basic Zm9vOmJhcg==" } });
  assertProblem(bad, 401);
  const secret = "qtk_thisIsNotARealTokenButLooksLikeOne0123456789";
  const unknown = await call("/api/v1/domains", { token: secret });
  assertProblem(unknown, 401);
  assert.ok(!unknown.text.includes(secret));
  const who = await call("/api/v1/whoami", { token: s.domainToken });
  assert.deepEqual(who.body, { name: "example-admin", scope: "example.com" });
});

test("domains: create, read, update, list, delete; 400 with the field path, 409, 404, 403 for a domain token", async () => {
  const c = await call("/api/v1/domains", { json: { name: "example.com", retentionDays: 30, route: "mx.example.com:25" } });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.body.name, "example.com");
  assert.equal(c.body.retentionDays, 30);
  assertProblem(await call("/api/v1/domains", { json: { name: "example.com" } }), 409);
  assert.equal((await call("/api/v1/domains", { json: { name: "other.org" } })).status, 201);

  const bad = await call("/api/v1/domains", { json: { name: "example.net", retentionDays: "forever" } });
  assertProblem(bad, 400);
  assert.equal(bad.body.errors[0].path, "retentionDays");
  assert.equal(bad.body.errors[0].in, "body");
  assert.ok(!bad.text.includes("forever"), "the received value is not echoed");
  const unknownField = await call("/api/v1/domains", { json: { name: "example.net", colour: "blue" } });
  assertProblem(unknownField, 400);
  assert.equal(unknownField.body.errors[0].path, "colour");
  assert.equal(unknownField.body.errors[0].message, "unknown field");
  const missing = await call("/api/v1/domains", { json: {} });
  assertProblem(missing, 400);
  assert.deepEqual([missing.body.errors[0].path, missing.body.errors[0].message], ["name", "required"]);
  assert.match(missing.body.detail, /body field "name": required/);
  const notJson = await call("/api/v1/domains", { body: "{nope", headers: { "content-type": "application/json" } });
  assertProblem(notJson, 400);
  assertProblem(await call("/api/v1/domains", { body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } }), 415);

  const p = await call("/api/v1/domains/example.com", { method: "PATCH", json: { retentionDays: null, options: { outgoing: true } } });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.retentionDays, null);
  assert.deepEqual(p.body.options, { outgoing: true });
  assertProblem(await call("/api/v1/domains/example.com", { method: "PATCH", json: {} }), 422);
  for (const route of ["mx.example.com:0", "mx.example.com:65536", "mx.example.com:99999", "mx example.com:25", "mx.example.com:"]) {
    const badRoute = await call("/api/v1/domains/example.com", { method: "PATCH", json: { route } });
    assertProblem(badRoute, 400);
    assert.equal(badRoute.body.errors[0].path, "route", route);
    assertProblem(await call("/api/v1/domains", { json: { name: "routed.example", route } }), 400);
  }
  assert.match((await call("/api/v1/domains/example.com", { method: "PATCH", json: { route: "mx.example.com:99999" } })).body.detail, /body field "route": expected a port from 1 to 65535/);
  assert.equal((await call("/api/v1/domains/example.com", { method: "PATCH", json: { route: "[::1]:65535" } })).status, 200);
  assertProblem(await call("/api/v1/domains/nowhere.example", {}), 404);
  const badPath = await call("/api/v1/domains/not_a_domain", {});
  assertProblem(badPath, 400);
  assert.equal(badPath.body.errors[0].path, "name");
  assert.equal(badPath.body.errors[0].in, "path");

  // the domain token sees its own domain only
  const list = await call("/api/v1/domains", { token: s.domainToken });
  assert.deepEqual(list.body.items.map((d: any) => d.name), ["example.com"]);
  assert.equal((await call("/api/v1/domains/example.com", { token: s.domainToken })).status, 200);
  assertProblem(await call("/api/v1/domains/other.org", { token: s.domainToken }), 403);
  assertProblem(await call("/api/v1/domains", { token: s.domainToken, json: { name: "mine.example" } }), 403);
  assertProblem(await call("/api/v1/domains/other.org", { token: s.domainToken, method: "DELETE" }), 403);

  assert.equal((await call("/api/v1/domains", { json: { name: "gone.example" } })).status, 201);
  assert.equal((await call("/api/v1/domains/gone.example", { method: "DELETE" })).status, 204);
  assertProblem(await call("/api/v1/domains/gone.example", { method: "DELETE" }), 404);
});

test("accounts: create (generated password returned once), get, list, password reset, delete; 422, 409, 403", async () => {
  const a = await call("/api/v1/accounts", { json: { login: "alice@example.com", password: "correct horse battery" } });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.kind, "user");
  assert.equal(a.body.password, undefined);
  assert.ok(!a.text.includes("correct horse"));
  const g = await call("/api/v1/accounts", { token: s.domainToken, json: { login: "bob@example.com" } });
  assert.equal(g.status, 201);
  assert.equal(typeof g.body.password, "string");
  assert.ok(g.body.password.length >= 16);
  assertProblem(await call("/api/v1/accounts", { json: { login: "alice@example.com", password: "another password" } }), 409);
  const mismatch = await call("/api/v1/accounts", { json: { login: "carol@example.com", kind: "domain", password: "long enough pw" } });
  assertProblem(mismatch, 422);
  const short = await call("/api/v1/accounts", { json: { login: "dave@example.com", password: "hunter2" } });
  assertProblem(short, 400);
  assert.equal(short.body.errors[0].path, "password");
  assert.ok(!short.text.includes("hunter2"), "a password is never echoed");

  // domain token: its own domain's users only; never admin accounts or another domain
  assertProblem(await call("/api/v1/accounts", { token: s.domainToken, json: { login: "eve@other.org" } }), 403);
  assertProblem(await call("/api/v1/accounts", { token: s.domainToken, json: { login: "root2", kind: "admin", password: "long enough pw" } }), 403);
  assert.equal((await call("/api/v1/accounts", { json: { login: "frank@other.org" } })).status, 201);
  assertProblem(await call("/api/v1/accounts/frank@other.org", { token: s.domainToken }), 403);
  const mine = await call("/api/v1/accounts", { token: s.domainToken });
  assert.deepEqual(mine.body.items.map((x: any) => x.login).sort(), ["alice@example.com", "bob@example.com"]);

  assert.equal((await call("/api/v1/accounts/alice@example.com")).body.login, "alice@example.com");
  assertProblem(await call("/api/v1/accounts/nobody@example.com"), 404);
  const reset = await call("/api/v1/accounts/alice@example.com/password", { token: s.domainToken, json: {} });
  assert.equal(reset.status, 200);
  assert.equal(typeof reset.body.password, "string");
  const set = await call("/api/v1/accounts/alice@example.com/password", { json: { password: "a brand new secret" } });
  assert.equal(set.status, 200);
  assert.equal(set.body.password, undefined);
  assertProblem(await call("/api/v1/accounts/nobody@example.com/password", { json: {} }), 404);
  assert.equal((await call("/api/v1/accounts/bob@example.com", { token: s.domainToken, method: "DELETE" })).status, 204);
  assertProblem(await call("/api/v1/accounts/bob@example.com", { method: "DELETE" }), 404);
});

test("quarantine: ingest, search, cursor pagination, metadata, raw, release, release-and-train, delete; 403, 404, 409, 413, 422", async () => {
  const one = await ingest(["alice@example.com", "bob@example.com"], "Cheap watches", { sender: "spammer@bad.example", score: "12.5", reason: "BAYES_99" });
  assert.equal(one.status, 201, one.text);
  assert.equal(one.body.ids.length, 2);
  for (let i = 0; i < 5; i++) assert.equal((await ingest(["carol@example.com"], `Offer ${i}`, { score: String(5 + i), reason: "RBL" })).status, 201);
  const other = await ingest(["zed@other.org"], "Other tenant secret", { score: "20" });
  assert.equal(other.status, 201);
  const otherId = other.body.ids[0];

  // ingest errors
  assertProblem(await ingest(["zed@other.org"], "x", {}, s.domainToken), 403);
  const noRcpt = await call("/api/v1/messages", { method: "POST", body: message("x") as BodyInit, headers: { "content-type": "message/rfc822" } });
  assertProblem(noRcpt, 400);
  assert.equal(noRcpt.body.errors[0].path, "recipient");
  const badRcpt = await call("/api/v1/messages?recipient=not-an-address", { method: "POST", body: message("x") as BodyInit });
  assertProblem(badRcpt, 400);
  assert.equal(badRcpt.body.errors[0].path, "recipient");
  assertProblem(await call("/api/v1/messages?recipient=a@example.com", { method: "POST", body: new Uint8Array(0) as BodyInit }), 422);
  const big = new Uint8Array(70 * 1024).fill(0x41);
  const tooBig = await call("/api/v1/messages?recipient=a@example.com", { method: "POST", body: big as BodyInit, headers: { "content-type": "message/rfc822" } });
  assertProblem(tooBig, 413);
  const chunked = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (let i = 0; i < 10; i++) ctl.enqueue(new Uint8Array(8 * 1024).fill(0x42));
      ctl.close();
    },
  });
  const tooBigChunked = await fetch(`${s.base}/api/v1/messages?recipient=a@example.com`, {
    method: "POST",
    body: chunked,
    headers: { authorization: `Bearer ${s.adminToken}` },
    duplex: "half",
  } as RequestInit);
  assert.equal(tooBigChunked.status, 413);
  await tooBigChunked.body?.cancel();
  // a body announced far past every limit is refused by the app (problem JSON), unread
  const url = new URL(s.base);
  const announced = await new Promise<string>((resolve, reject) => {
    const sock = connect(Number(url.port), url.hostname, () => {
      sock.write(`POST /api/v1/messages?recipient=a@example.com HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.adminToken}\r\nContent-Type: message/rfc822\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\nFrom: a@b\r\n`);
    });
    let got = "";
    sock.on("data", (d) => {
      got += d;
      if (got.includes("\r\n\r\n") && got.includes("}")) sock.destroy();
    });
    sock.on("close", () => resolve(got));
    sock.on("error", reject);
    setTimeout(() => sock.destroy(), 5000);
  });
  assert.match(announced, /^HTTP\/1\.1 413/);
  assert.match(announced, /content-type: application\/problem\+json/i);

  // search
  const all = await call("/api/v1/messages?limit=100");
  assert.equal(all.body.items.length, 8);
  const dom = await call("/api/v1/messages", { token: s.domainToken });
  assert.equal(dom.body.items.length, 7, "the domain token sees its domain only");
  assert.ok(dom.body.items.every((m: any) => m.domain === "example.com"));
  assertProblem(await call("/api/v1/messages?domain=other.org", { token: s.domainToken }), 403);
  assertProblem(await call("/api/v1/messages?recipient=zed@other.org", { token: s.domainToken }), 403);
  const bySubject = await call("/api/v1/messages?subject=watches");
  assert.deepEqual(bySubject.body.items.map((m: any) => m.recipient).sort(), ["alice@example.com", "bob@example.com"]);
  assert.equal(bySubject.body.items[0].subject, "Cheap watches");
  assert.equal(bySubject.body.items[0].score, 12.5);
  assert.equal((await call("/api/v1/messages?scoreMin=6&scoreMax=8")).body.items.length, 3);
  assert.equal((await call("/api/v1/messages?reason=bayes")).body.items.length, 2);
  assert.equal((await call("/api/v1/messages?sender=SPAMMER@bad")).body.items.length, 2);
  assert.equal((await call("/api/v1/messages?recipient=carol@example.com")).body.items.length, 5);
  assert.equal((await call(`/api/v1/messages?since=${new Date(Date.now() + 3600_000).toISOString()}`)).body.items.length, 0);
  assert.equal((await call("/api/v1/messages?since=2020-01-01&until=2099-01-01")).body.items.length, 8);
  const badScore = await call("/api/v1/messages?scoreMin=lots");
  assertProblem(badScore, 400);
  assert.equal(badScore.body.errors[0].path, "scoreMin");
  assert.equal(badScore.body.errors[0].in, "query");
  assertProblem(await call("/api/v1/messages?since=yesterday"), 400);
  assertProblem(await call("/api/v1/messages?limit=0"), 400);
  assertProblem(await call("/api/v1/messages?cursor=garbage"), 400);
  assertProblem(await call("/api/v1/messages?colour=red"), 400);

  // pagination: 3 pages of 3, 3, 2, no duplicates, newest first
  const seen: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page: any = await call(`/api/v1/messages?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
    seen.push(...page.body.items.map((m: any) => m.id));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor);
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 8);
  assert.deepEqual(seen, [...seen].sort((a, b) => b - a));
  const asc = await call("/api/v1/messages?order=asc&limit=2");
  assert.ok(asc.body.items[0].id < asc.body.items[1].id);

  // metadata and raw; another tenant's row is a 404, like one that does not exist
  const id = one.body.ids[0];
  const meta = await call(`/api/v1/messages/${id}`, { token: s.domainToken });
  assert.equal(meta.body.recipient, "alice@example.com");
  assert.equal(meta.body.state, "caught");
  assertProblem(await call(`/api/v1/messages/${otherId}`, { token: s.domainToken }), 404);
  assertProblem(await call(`/api/v1/messages/999999`), 404);
  const badId = await call(`/api/v1/messages/abc`);
  assertProblem(badId, 400);
  assert.equal(badId.body.errors[0].path, "id");
  const raw = await fetch(`${s.base}/api/v1/messages/${id}/raw`, { headers: { authorization: `Bearer ${s.domainToken}` } });
  assert.equal(raw.status, 200);
  assert.equal(raw.headers.get("content-type"), "message/rfc822");
  assert.match(await raw.text(), /^From: Spammer[\s\S]*Subject: Cheap watches\r\n/);
  assertProblem(await call(`/api/v1/messages/${otherId}/raw`, { token: s.domainToken }), 404);

  // actions
  assertProblem(await call(`/api/v1/messages/${otherId}/release`, { token: s.domainToken, method: "POST" }), 404);
  const rel = await call(`/api/v1/messages/${id}/release`, { token: s.domainToken, method: "POST" });
  assert.equal(rel.status, 202, rel.text);
  assert.equal(rel.body.state, "releasing");
  assertProblem(await call(`/api/v1/messages/${id}/release`, { method: "POST" }), 409);
  assert.equal((await call(`/api/v1/messages/${id}`)).body.state, "releasing");
  const rt = await call(`/api/v1/messages/${one.body.ids[1]}/release-and-train`, { method: "POST" });
  assert.equal(rt.status, 202);
  assert.equal(rt.body.trained, true);
  assert.equal((await call(`/api/v1/messages/${otherId}`, { method: "DELETE" })).status, 204);
  assertProblem(await call(`/api/v1/messages/${otherId}`, { method: "DELETE" }), 409);
  assert.equal((await call(`/api/v1/messages/${otherId}`)).body.state, "deleted");
  assert.equal((await call("/api/v1/messages?state=any&limit=100")).body.items.length, 8);
  assert.equal((await call("/api/v1/messages?state=releasing")).body.items.length, 2);

  // bulk by filter
  assertProblem(await call("/api/v1/messages/bulk/delete", { json: {} }), 422);
  assertProblem(await call("/api/v1/messages/bulk/delete", { token: s.domainToken, json: { filter: { domain: "other.org" } } }), 403);
  const badBulk = await call("/api/v1/messages/bulk/delete", { json: { filter: { scoreMin: "high" } } });
  assertProblem(badBulk, 400);
  assert.equal(badBulk.body.errors[0].path, "filter.scoreMin");
  const dry = await call("/api/v1/messages/bulk/release", { token: s.domainToken, json: { filter: { recipient: "carol@example.com", scoreMin: 8 }, dryRun: true } });
  assert.equal(dry.body.matched, 2);
  assert.deepEqual(dry.body.acted, []);
  const br = await call("/api/v1/messages/bulk/release", { token: s.domainToken, json: { filter: { recipient: "carol@example.com", scoreMin: 8 } } });
  assert.equal(br.status, 200);
  assert.equal(br.body.acted.length, 2);
  const bd = await call("/api/v1/messages/bulk/delete", { token: s.domainToken, json: { filter: { subject: "offer" }, max: 2 } });
  assert.equal(bd.body.acted.length, 2);
  assert.equal(bd.body.truncated, true);
  const brt = await call("/api/v1/messages/bulk/release-and-train", { json: { filter: { subject: "offer" } } });
  assert.equal(brt.body.acted.length, 1);
  assert.equal((await call("/api/v1/messages")).body.items.length, 0);

  // queues and audit
  const outbox = await call("/api/v1/outbox");
  assert.equal(outbox.body.summary.byState.pending, 5);
  assert.ok(outbox.body.items.every((o: any) => o.state === "pending"));
  const outboxDom = await call("/api/v1/outbox?state=pending&limit=2", { token: s.domainToken });
  assert.equal(outboxDom.body.items.length, 2);
  assert.ok(outboxDom.body.nextCursor);
  const nextOutbox = await call(`/api/v1/outbox?limit=2&cursor=${outboxDom.body.nextCursor}`, { token: s.domainToken });
  assert.ok(nextOutbox.body.items[0].id < outboxDom.body.items[1].id + 1);
  assertProblem(await call("/api/v1/outbox?state=stuck"), 400);
  const training = await call("/api/v1/training-reports?kind=ham");
  assert.equal(training.body.items.length, 2);
  assert.equal(training.body.summary.byState.pending, 2);
  const audit = await call("/api/v1/audit?action=release*");
  assert.ok(audit.body.items.length >= 5);
  assert.ok(audit.body.items.every((e: any) => e.action.startsWith("release")));
  const byMsg = await call(`/api/v1/audit?messageId=${id}`);
  assert.deepEqual(byMsg.body.items.map((e: any) => e.action), ["release", "ingest"]);
  assert.equal(byMsg.body.items[0].actor, "api:example-admin");
  const domAudit = await call("/api/v1/audit?limit=1000", { token: s.domainToken });
  assert.ok(domAudit.body.items.length > 0);
  assert.ok(!domAudit.body.items.some((e: any) => e.messageId === otherId), "another tenant's audit entries stay hidden");
  assert.ok(!domAudit.text.includes("other.org"));
  const paged = await call("/api/v1/audit?limit=2");
  const page2 = await call(`/api/v1/audit?limit=2&cursor=${paged.body.nextCursor}`);
  assert.ok(page2.body.items[0].id < paged.body.items[1].id);
  assertProblem(await call("/api/v1/audit?action=DROP TABLE"), 400);
});

test("unknown routes and methods are problems too", async () => {
  assertProblem(await call("/api/v1/nothing-here"), 404);
  assertProblem(await call("/nothing", { token: null }), 404);
});
