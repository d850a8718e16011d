/** A real HTTP server for the tests: temp database, the app served on 127.0.0.1:0. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import * as v from "valibot";
import { configSchema } from "../../src/config/schema.ts";
import { createHttpApp, type HttpApp, type HttpDeps } from "../../src/http/app.ts";
import { addToken } from "../../src/http/tokens.ts";
import { setLogQuiet } from "../../src/observability/log.ts";
import { serveHttp, type HttpHandle } from "../../src/runtime/http-serve.ts";
import { migrate, openStore, type Store } from "../../src/storage/db.ts";

export interface TestServer {
  base: string;
  store: Store;
  app: HttpApp;
  http: HttpHandle;
  dir: string;
  dbPath: string;
  adminToken: string;
  domainToken: string;
  close(): Promise<void>;
}

export async function startTestServer(over: Partial<HttpDeps> = {}): Promise<TestServer> {
  setLogQuiet(true);
  const dir = mkdtempSync(join(tmpdir(), "qhttp-"));
  const dbPath = join(dir, "q.db");
  const store = await openStore({ url: `file:${dbPath}` });
  await migrate(store);
  const config = v.parse(configSchema, { hostname: "mail.example.test", dataDir: dir });
  const app = createHttpApp({
    version: "test",
    startedAt: Date.now() - 5000,
    readiness: {},
    store,
    config,
    listeners: () => [
      { name: "imaps", protocol: "IMAP", host: "0.0.0.0", port: 993, tls: "implicit", bound: true },
      { name: "imap", protocol: "IMAP", host: "0.0.0.0", port: 143, tls: "starttls", bound: true },
    ],
    certificateNotAfter: () => new Date(Date.now() + 90 * 86400_000),
    maxIngestBytes: 64 * 1024,
    metricsTtlMs: 0,
    ...over,
  });
  const http = await serveHttp(app.fetch, "127.0.0.1", 0);
  const adminToken = (await addToken(store, "ops", "admin")).token;
  const domainToken = (await addToken(store, "example-admin", "example.com")).token;
  return {
    base: `http://127.0.0.1:${http.port}`,
    store,
    app,
    http,
    dir,
    dbPath,
    adminToken,
    domainToken,
    async close() {
      await http.stop();
      app.dispose();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function message(subject: string, from = "spammer@bad.example", extra = ""): Uint8Array {
  return new TextEncoder().encode(
    `From: Spammer <${from}>\r\nTo: someone@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@bad.example>\r\nDate: Mon, 01 Dec 2025 10:00:00 +0000\r\n${extra}\r\nBuy now ${subject}\r\n`,
  );
}

export const PROBLEM = "application/problem+json";

/** Prometheus text exposition format 0.0.4, line by line. */
const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = "(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?Inf|NaN)";
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const HELP = new RegExp(`^# HELP (${NAME}) (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

export function checkExposition(text: string): Map<string, number> {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    let m: RegExpExecArray | null;
    if ((m = HELP.exec(line))) {
      assert.ok(!helps.has(m[1]), `duplicate HELP, ${where}`);
      helps.add(m[1]);
    } else if ((m = TYPE.exec(line))) {
      assert.ok(!types.has(m[1]), `duplicate TYPE, ${where}`);
      types.set(m[1], m[2]);
    } else if (line.startsWith("#")) {
      assert.fail(`a comment that is neither HELP nor TYPE, ${where}`);
    } else {
      m = SAMPLE.exec(line);
      assert.ok(m, `not a sample, ${where}`);
      const name = m[1];
      const family = [...types.keys()].find((f) => name === f || (types.get(f) === "histogram" && [`${f}_bucket`, `${f}_sum`, `${f}_count`].includes(name)));
      assert.ok(family, `sample before its TYPE, ${where}`);
      const series = line.slice(0, line.lastIndexOf(" "));
      assert.ok(!samples.has(series), `duplicate series, ${where}`);
      samples.set(series, Number(line.slice(line.lastIndexOf(" ") + 1).replace(/^\+?Inf$/, "Infinity")));
      if (types.get(family!) === "counter") assert.ok(samples.get(series)! >= 0, `negative counter, ${where}`);
    }
  });
  return samples;
}

export type ApiCallOptions = { token?: string | null; method?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> };
export type ApiResponse = { status: number; ct: string; body: any; text: string; headers: Headers };

/** One admin API request (the operator token unless `token` says otherwise); JSON answers parsed. */
export async function apiCall(s: TestServer, path: string, o: ApiCallOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const token = o.token === undefined ? s.adminToken : o.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let body = o.body;
  if (o.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(o.json);
  }
  const r = await fetch(s.base + path, { method: o.method ?? (body ? "POST" : "GET"), headers, body });
  const text = await r.text();
  const ct = r.headers.get("content-type") ?? "";
  let parsed: unknown = text;
  if (ct.includes("json")) parsed = JSON.parse(text);
  return { status: r.status, ct, body: parsed, text, headers: r.headers };
}

/** A problem+json answer with this status (and, if given, this first field path). */
export function assertProblem(r: { status: number; ct: string; body: any }, status: number, path?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.ok(r.ct.startsWith(PROBLEM), `content-type ${r.ct}`);
  assert.equal(r.body.status, status);
  assert.equal(typeof r.body.title, "string");
  if (path !== undefined) assert.equal(r.body.errors?.[0]?.path, path, JSON.stringify(r.body));
}

/** POST /messages of a sample message for these recipients. */
export function apiIngest(s: TestServer, rcpts: string[], subject: string, params: Record<string, string> = {}, token?: string): Promise<ApiResponse> {
  const q = new URLSearchParams();
  for (const r of rcpts) q.append("recipient", r);
  for (const [k, v] of Object.entries(params)) q.set(k, v);
  return apiCall(s, `/api/v1/messages?${q}`, { method: "POST", body: message(subject) as BodyInit, headers: { "content-type": "message/rfc822" }, token });
}
