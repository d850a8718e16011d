/**
 * Another process holding the database's write lock: API writes answer 503 with Retry-After
 * (not a bare 500), and the log line says what failed without the statement's parameters,
 * which for a password change are the new scrypt hash.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client, type Transaction } from "@libsql/client";
import * as v from "valibot";
import { configSchema } from "../../src/config/schema.ts";
import { createHttpApp, type HttpApp } from "../../src/http/app.ts";
import { addToken } from "../../src/http/tokens.ts";
import { errorText, redactErrorText, setLogQuiet } from "../../src/observability/log.ts";
import { addAccount } from "../../src/quarantine/accounts.ts";
import { serveHttp, type HttpHandle } from "../../src/runtime/http-serve.ts";
import { isDatabaseBusy, migrate, openStore, type Store } from "../../src/storage/db.ts";
import { PROBLEM } from "./helpers.ts";

let dir: string;
let store: Store;
let app: HttpApp;
let http: HttpHandle;
let base: string;
let token: string;
let other: Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qbusy-"));
  const url = `file:${join(dir, "q.db")}`;
  store = await openStore({ url, busyTimeoutMs: 150 });
  await migrate(store);
  app = createHttpApp({ version: "test", startedAt: Date.now(), readiness: {}, store, config: v.parse(configSchema, { dataDir: dir }), metricsTtlMs: 0 });
  http = await serveHttp(app.fetch, "127.0.0.1", 0);
  base = `http://127.0.0.1:${http.port}`;
  token = (await addToken(store, "ops", "admin")).token;
  await addAccount(store, { login: "alice@example.com", password: "the first password" });
  other = createClient({ url }); // another connection, as another process would have
});
after(async () => {
  other.close();
  await http.stop();
  app.dispose();
  store.close();
  setLogQuiet(true);
  rmSync(dir, { recursive: true, force: true });
});

/** Runs fn with the log captured (and not printed). */
async function capturingLog<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stdout.write;
  setLogQuiet(false);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    return { value: await fn(), lines };
  } finally {
    process.stdout.write = write;
    setLogQuiet(true);
  }
}

test("a write while another connection holds the lock: 503 problem with Retry-After, and no statement parameters in the log", async () => {
  const hold: Transaction = await other.transaction("write");
  let r: Response;
  let text: string;
  const { lines } = await capturingLog(async () => {
    try {
      r = await fetch(`${base}/api/v1/accounts/alice@example.com/password`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ password: "a new password nobody should see" }),
      });
      text = await r.text();
    } finally {
      await hold.rollback();
      hold.close();
    }
  });
  assert.equal(r!.status, 503, text!);
  assert.ok((r!.headers.get("content-type") ?? "").startsWith(PROBLEM));
  assert.match(r!.headers.get("retry-after") ?? "", /^\d+$/);
  const body = JSON.parse(text!);
  assert.equal(body.status, 503);
  assert.match(body.detail, /database is busy/);

  const log = lines.join("");
  assert.match(log, /"event":"http.database_busy"/);
  assert.match(log, /SQLITE_BUSY|database is locked/);
  assert.ok(!log.includes("$scrypt$"), `no password hash in the log: ${log}`);
  assert.ok(!log.includes("params:") || log.includes("params: <not logged>"), log);

  // once the lock is gone the same request works
  const ok = await fetch(`${base}/api/v1/accounts/alice@example.com/password`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ password: "a new password nobody should see" }),
  });
  assert.equal(ok.status, 200);
});

test("errorText and the log never carry drizzle's params; busy errors are recognised through their cause", () => {
  const cause = Object.assign(new Error("SQLITE_BUSY: database is locked"), { code: "SQLITE_BUSY" });
  const q = Object.assign(new Error('Failed query: update "accounts" set "password_hash" = ?\nparams: $scrypt$ln=15$secret,alice@example.com'), {
    query: 'update "accounts" set "password_hash" = ?',
    params: ["$scrypt$ln=15$secret", "alice@example.com"],
    cause,
  });
  assert.equal(errorText(q), 'Failed query: update "accounts" set "password_hash" = ?: SQLITE_BUSY: database is locked');
  assert.ok(!errorText(q, { stack: true }).includes("$scrypt$"));
  const stack = 'Error: Failed query: update x\nparams: $scrypt$secret,a@b.c\n    at foo (x.ts:1:1)\n    at bar (y.ts:2:2)';
  assert.equal(redactErrorText(stack), "Error: Failed query: update x\nparams: <not logged>\n    at foo (x.ts:1:1)\n    at bar (y.ts:2:2)");
  assert.ok(isDatabaseBusy(q));
  assert.ok(isDatabaseBusy(new Error("database is locked")));
  assert.ok(!isDatabaseBusy(new Error("UNIQUE constraint failed")));
  assert.ok(!isDatabaseBusy(undefined));
});
