/**
 * Admin API regressions from the security QA pass: control characters in request strings,
 * account kinds decided by the stored row, operator-only domain settings (route, SMTP options),
 * database-busy answers without secrets in the log, and the audit scope of domain tokens.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiCall, apiIngest, assertProblem, startTestServer, type ApiCallOptions, type TestServer } from "./helpers.ts";

let s: TestServer;
const call = (path: string, o?: ApiCallOptions) => apiCall(s, path, o);
const ingest = (rcpts: string[], subject: string, params?: Record<string, string>, token?: string) => apiIngest(s, rcpts, subject, params, token);
before(async () => {
  s = await startTestServer();
  for (const name of ["example.com", "other.org"]) {
    const r = await call("/api/v1/domains", { json: { name } });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => {
  await s.close();
});




test("control characters in request strings are a 400 naming the field; a NUL filter never matches everything", async () => {
  for (const subj of ["meeting", "hello", "invoice"]) assert.equal((await ingest(["carol@example.com"], subj)).status, 201);
  const caught = async () => (await call("/api/v1/messages?domain=example.com&limit=500")).body.items.length;
  const before = await caught();
  assert.ok(before >= 3);

  // query string: %00 in a filter
  const q = await call("/api/v1/messages?subject=%00zzz-no-such-subject", { token: s.domainToken });
  assertProblem(q, 400, "subject");
  assert.equal(q.body.errors[0].in, "query");
  assert.match(q.body.detail, /control characters/);
  assertProblem(await call("/api/v1/messages?sender=a%0Db"), 400, "sender");
  assertProblem(await call("/api/v1/messages?reason=%01"), 400, "reason");

  // JSON body: the bulk filter that emptied a domain
  for (const what of ["delete", "release"]) {
    const bulk = await call(`/api/v1/messages/bulk/${what}`, { token: s.domainToken, json: { filter: { domain: "example.com", subject: "\u0000zzz-no-such-subject" } } });
    assertProblem(bulk, 400, "filter.subject");
  }
  assertProblem(await call("/api/v1/messages/bulk/delete", { json: { filter: { sender: "\u0000" } } }), 400, "filter.sender");
  assertProblem(await call("/api/v1/messages/bulk/delete", { json: { filter: { reason: "x\u001fy" }, dryRun: true } }), 400, "filter.reason");
  assert.equal(await caught(), before, "nothing was deleted");

  // ingest: CR/LF (SMTP command injection shape) and NUL in the sender, NUL in the reason
  assertProblem(await ingest(["carol@example.com"], "x", { sender: "evil@b.test\r\nRCPT TO:<victim@x.test>" }), 400, "sender");
  assertProblem(await ingest(["carol@example.com"], "x", { sender: "s\u0000x@x.test" }), 400, "sender");
  assertProblem(await ingest(["carol@example.com"], "x", { reason: "BAYES\u0000" }), 400, "reason");
  assert.equal(await caught(), before, "nothing was stored");

  // logins, audit filters, path parameters
  assertProblem(await call("/api/v1/accounts", { json: { login: "alice\u0000@example.com", password: "long enough pw" } }), 400, "login");
  assertProblem(await call("/api/v1/accounts", { json: { login: "x@example.com", password: "long\u0000enough pw" } }), 400, "password");
  assertProblem(await call("/api/v1/accounts/alice%00@example.com"), 400, "login");
  assertProblem(await call("/api/v1/audit?actor=api%3Aops%00"), 400, "actor");

  // TAB stays allowed in free text; ordinary filters still work
  assert.equal((await call("/api/v1/messages?subject=%09")).status, 200);
  const ok = await call("/api/v1/messages?subject=meeting");
  assert.equal(ok.status, 200);
  assert.equal(ok.body.items.length, 1);
  const dry = await call("/api/v1/messages/bulk/delete", { json: { filter: { subject: "x" }, dryRun: true } });
  assert.equal(dry.body.matched, 0);
});

test("accounts are authorised on their stored kind: a domain token cannot touch an admin whose login looks like its domain", async () => {
  // An admin login with a dot (allowed before, so it may exist in a database) named like a tenant's domain.
  const { hashPassword } = await import("../../src/auth/password.ts");
  const now = Date.now();
  await s.store.client.execute({
    sql: "INSERT INTO accounts (kind, login, password_hash, created_at, password_changed_at) VALUES ('admin', 'example.com', ?, ?, ?)",
    args: [await hashPassword("the admin's own password"), now, now],
  });
  const before = (await s.store.client.execute("SELECT password_hash FROM accounts WHERE login = 'example.com'")).rows[0].password_hash;

  assertProblem(await call("/api/v1/accounts/example.com", { token: s.domainToken }), 403);
  assertProblem(await call("/api/v1/accounts/example.com/password", { token: s.domainToken, json: {} }), 403);
  assertProblem(await call("/api/v1/accounts/example.com/password", { token: s.domainToken, json: { password: "taken over now" } }), 403);
  assertProblem(await call("/api/v1/accounts/EXAMPLE.COM", { token: s.domainToken, method: "DELETE" }), 403);
  const after = await s.store.client.execute("SELECT kind, password_hash FROM accounts WHERE login = 'example.com'");
  assert.equal(after.rows.length, 1, "still there");
  assert.equal(after.rows[0].password_hash, before, "password unchanged");
  const list = await call("/api/v1/accounts", { token: s.domainToken });
  assert.ok(!list.body.items.some((a: any) => a.login === "example.com"), "not listed to the domain token");
  const listDom = await call("/api/v1/accounts?domain=example.com");
  assert.ok(!listDom.body.items.some((a: any) => a.kind === "admin"), "an admin is in no domain");
  // the operator still manages it
  const got = await call("/api/v1/accounts/example.com");
  assert.equal(got.body.kind, "admin");
  assert.equal((await call("/api/v1/accounts/example.com/password", { json: {} })).status, 200);

  // the domain's own accounts stay manageable by its token; 404 for a missing one of its own, 403 for another tenant's
  assert.equal((await call("/api/v1/accounts", { token: s.domainToken, json: { login: "dana@example.com" } })).status, 201);
  assert.equal((await call("/api/v1/accounts/dana@example.com/password", { token: s.domainToken, json: {} })).status, 200);
  assert.equal((await call("/api/v1/accounts/dana@example.com", { token: s.domainToken, method: "DELETE" })).status, 204);
  assertProblem(await call("/api/v1/accounts/nobody@example.com", { token: s.domainToken }), 404);
  assertProblem(await call("/api/v1/accounts/nobody@other.org", { token: s.domainToken }), 403);
  assertProblem(await call("/api/v1/accounts/other.org", { token: s.domainToken, method: "DELETE" }), 403);
  assertProblem(await call("/api/v1/accounts/plainadmin", { token: s.domainToken }), 403);

  // the admin doesn't block removing the domain it is named like
  assert.equal((await call("/api/v1/domains", { json: { name: "q6.example" } })).status, 201);
  await s.store.client.execute({ sql: "INSERT INTO accounts (kind, login, password_hash, created_at, password_changed_at) VALUES ('admin', 'q6.example', 'x', ?, ?)", args: [now, now] });
  assert.equal((await call("/api/v1/domains/q6.example", { method: "DELETE" })).status, 204);

  // new admin logins may not look like a domain or an address
  for (const login of ["other.org", "ops.team"]) {
    const r = await call("/api/v1/accounts", { json: { login, kind: "admin", password: "long enough pw" } });
    assertProblem(r, 422);
    assert.match(r.body.detail, /no dots or @/);
  }
  assertProblem(await call("/api/v1/accounts", { json: { login: "a@b.example", kind: "admin", password: "long enough pw" } }), 422);
  assert.equal((await call("/api/v1/accounts", { json: { login: "ops_team-2", kind: "admin", password: "long enough pw" } })).status, 201);
});

test("route and options.smtp (server-side files, connection settings) are operator-only: 403 naming the field for a domain token", async () => {
  const path = "/api/v1/domains/example.com";
  const set = await call(path, { method: "PATCH", json: { route: "mx.example.com:25", options: { smtp: { starttls: "required", password: "smtp secret" }, note: "hi" } } });
  assert.equal(set.status, 200, set.text);

  const caFile = await call(path, { token: s.domainToken, method: "PATCH", json: { options: { smtp: { caFile: "/etc/shadow" } } } });
  assertProblem(caFile, 403, "options.smtp.caFile");
  assert.match(caFile.body.detail, /options\.smtp\.caFile/);
  assertProblem(await call(path, { token: s.domainToken, method: "PATCH", json: { options: { smtp: {} } } }), 403, "options.smtp");
  assertProblem(await call(path, { token: s.domainToken, method: "PATCH", json: { options: { smtp: { rejectUnauthorized: false } } } }), 403, "options.smtp.rejectUnauthorized");
  for (const route of ["127.0.0.1:4089", "mx.example.com:25", null]) {
    const r = await call(path, { token: s.domainToken, method: "PATCH", json: { route } });
    assertProblem(r, 403, "route");
  }
  assertProblem(await call(path, { token: s.domainToken, method: "PATCH", json: { retentionDays: 7, route: "evil.example:25" } }), 403, "route");

  // nothing changed
  const now = await call(path);
  assert.equal(now.body.route, "mx.example.com:25");
  assert.equal(now.body.retentionDays, null);
  assert.deepEqual(now.body.options.smtp, { starttls: "required", password: "smtp secret" });

  // the domain token still reads the route, changes retention and its own options; the operator's SMTP settings are kept
  const mine = await call(path, { token: s.domainToken });
  assert.equal(mine.status, 200);
  assert.equal(mine.body.route, "mx.example.com:25");
  assert.equal(mine.body.options.smtp.password, "<redacted>", "the SMTP password is not shown to the tenant");
  const own = await call(path, { token: s.domainToken, method: "PATCH", json: { retentionDays: 7, options: { note: "changed" } } });
  assert.equal(own.status, 200, own.text);
  assert.equal(own.body.retentionDays, 7);
  assert.equal(own.body.options.note, "changed");
  const stored = await call(path);
  assert.deepEqual(stored.body.options, { note: "changed", smtp: { starttls: "required", password: "smtp secret" } });

  // options are validated for everyone: types of the SMTP settings, control characters, depth
  assertProblem(await call(path, { method: "PATCH", json: { options: { smtp: { caFile: 5 } } } }), 400, "options.smtp.caFile");
  assertProblem(await call(path, { method: "PATCH", json: { options: { smtp: { tls: true } } } }), 400, "options.smtp.tls");
  assertProblem(await call(path, { method: "PATCH", json: { options: { note: "a\u0000b" } } }), 400, "options.note");
  let deep: unknown = 1;
  for (let i = 0; i < 40; i++) deep = { d: deep };
  assertProblem(await call(path, { token: s.domainToken, method: "PATCH", json: { options: { deep } } }), 400, "options.deep");

  // the operator may still set them
  const op = await call(path, { method: "PATCH", json: { route: null, options: { smtp: { caFile: "/etc/quarantined/ca.pem" } } } });
  assert.equal(op.status, 200, op.text);
  assert.equal(op.body.route, null);
  assert.equal(op.body.options.smtp.caFile, "/etc/quarantined/ca.pem");
});

test("audit: a domain token sees the entries that concern its domain, never another tenant's through a reused token name or a look-alike login", async () => {
  const { addToken, removeToken } = await import("../../src/http/tokens.ts");
  // A token named reuse1 of other.org does other.org's work, is removed, and the name goes to example.com.
  const old = (await addToken(s.store, "reuse1", "other.org")).token;
  assert.equal((await call("/api/v1/accounts", { token: old, json: { login: "dave-secret-project@other.org" } })).status, 201);
  assert.equal((await call("/api/v1/domains/other.org", { token: old, method: "PATCH", json: { retentionDays: 9 } })).status, 200);
  const otherMsg = (await ingest(["zed@other.org"], "other tenant", {}, old)).body.ids[0];
  await removeToken(s.store, "reuse1");
  const reused = (await addToken(s.store, "reuse1", "example.com")).token;

  // entries that do concern example.com, made by other actors
  assert.equal((await call("/api/v1/accounts", { json: { login: "erin@example.com" } })).status, 201);
  assert.equal((await call("/api/v1/domains/example.com", { method: "PATCH", json: { retentionDays: 10 } })).status, 200);
  const mine = (await ingest(["erin@example.com"], "mine")).body.ids[0];
  const ins = (action: string, actor: string, kind: string, detail: unknown) =>
    s.store.client.execute({ sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, message_id, detail) VALUES (?, ?, ?, NULL, ?, NULL, ?)", args: [Date.now(), actor, kind, action, typeof detail === "string" ? detail : JSON.stringify(detail)] });
  await ins("login.ok", "erin@example.com", "user", { via: "imap" });
  await ins("login.fail", "nobody@example.com", "unknown", { via: "imap" });
  await ins("account.password", "cli", "cli", { login: "erin@example.com" }); // written by an older version, no domain
  // entries that do not: an admin whose login looks like the domain, a CLI entry about other.org, a broken detail
  await ins("login.ok", "example.com", "admin", { via: "imap" });
  await ins("login.fail", "example.com", "unknown", { via: "imap" });
  await ins("account.password", "cli", "cli", { login: "example.com" });
  await ins("account.remove", "example.com", "admin", { login: "x@other.org" });
  await ins("domain.update", "api:x", "api", "not json");

  for (const token of [reused, s.domainToken]) {
    const r = await call("/api/v1/audit?limit=1000", { token });
    assert.equal(r.status, 200, r.text);
    const items: any[] = r.body.items;
    assert.ok(!r.text.includes("dave-secret-project"), "another tenant's account stays hidden");
    assert.ok(!r.text.includes("other.org"), r.text);
    assert.ok(!items.some((e) => e.messageId === otherMsg));
    assert.ok(!items.some((e) => e.actor === "example.com"), "entries of the admin named example.com stay hidden");
    assert.ok(!items.some((e) => e.action === "account.password" && e.detail.login === "example.com"));
    assert.ok(!items.some((e) => e.detail && Object.keys(e.detail).length === 0 && e.action === "domain.update"), "a broken entry is not matched");

    assert.ok(items.some((e) => e.action === "account.add" && e.detail.login === "erin@example.com" && e.detail.domain === "example.com"));
    assert.ok(items.some((e) => e.action === "domain.update" && e.detail.domain === "example.com"));
    assert.ok(items.some((e) => e.action === "ingest" && e.messageId === mine));
    assert.ok(items.some((e) => e.action === "login.ok" && e.actor === "erin@example.com"));
    assert.ok(items.some((e) => e.action === "login.fail" && e.actor === "nobody@example.com"));
    assert.ok(items.some((e) => e.action === "account.password" && e.detail.login === "erin@example.com"));
  }
  // the operator sees everything
  const all = await call("/api/v1/audit?limit=1000");
  assert.ok(all.text.includes("dave-secret-project@other.org"));
});

test("deeply nested JSON and numbers that overflow to Infinity are a 400, not a 500", async () => {
  const deep = '{"options":{"a":' + "[".repeat(60_000) + "]".repeat(60_000) + "}}";
  const r = await call("/api/v1/domains/example.com", { method: "PATCH", body: deep, headers: { "content-type": "application/json" } });
  assertProblem(r, 400);
  assert.match(r.body.detail, /nested deeper than 64 levels/);
  const inf = await call("/api/v1/messages/bulk/delete", { body: '{"filter":{"scoreMin":1e999}}', headers: { "content-type": "application/json" } });
  assertProblem(inf, 400, "filter.scoreMin");
  assert.match(inf.body.detail, /finite/);
  assertProblem(await call("/api/v1/messages/bulk/delete", { body: '{"ids":[-1e999]}', headers: { "content-type": "application/json" } }), 400, "ids.0");
  assertProblem(await call("/api/v1/domains/example.com", { method: "PATCH", body: '{"options":{"n":1e400}}', headers: { "content-type": "application/json" } }), 400, "options.n");
  // still fine at a sane depth
  let ok: unknown = 1;
  for (let i = 0; i < 10; i++) ok = [ok];
  assert.equal((await call("/api/v1/domains/example.com", { method: "PATCH", json: { options: { ok } } })).status, 200);
});

test("a method a path does not support is a 405 problem with Allow; unknown paths stay 404", async () => {
  const cases: [string, string, string, string | null][] = [
    ["PUT", "/api/v1/domains/example.com", "DELETE, GET, HEAD, PATCH", s.adminToken],
    ["GET", "/api/v1/messages/1/release", "POST", s.adminToken],
    ["OPTIONS", "/api/v1/messages", "GET, HEAD, POST", null],
    ["DELETE", "/api/v1/whoami", "GET, HEAD", null],
    ["POST", "/healthz", "GET, HEAD", null],
  ];
  for (const [method, path, allow, token] of cases) {
    const r = await call(path, { method, token });
    assertProblem(r, 405);
    assert.equal(r.headers.get("allow"), allow, `${method} ${path}`);
  }
  assertProblem(await call("/api/v1/nothing-here", { method: "PUT" }), 404);
  assertProblem(await call("/healthz/", { method: "POST", token: null }), 404);
  assert.equal((await fetch(`${s.base}/healthz`, { method: "HEAD" })).status, 200, "HEAD is served where GET is");
});
