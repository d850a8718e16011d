/**
 * Shared pieces of the delivery, training and LMTP tests: a temporary migrated store, a
 * config built through the real schema, an in-process SMTP sink (smtp-server) whose answers
 * a test scripts, sample messages, and async process spawning (never spawnSync: it would
 * block the event loop the in-process servers run on).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import * as v from "valibot";
import { configSchema, type Config, type ConfigInput } from "../../src/config/schema.ts";
import { setLogQuiet } from "../../src/observability/log.ts";
import type { Actor } from "../../src/quarantine/actions.ts";
import { migrate, openStore, type Store } from "../../src/storage/db.ts";

setLogQuiet(process.env.QUARANTINED_TEST_LOG !== "1");

export interface TempStore {
  store: Store;
  dir: string;
  url: string;
  cleanup(): void;
}

export async function tempStore(): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), "qd-test-"));
  const url = `file:${join(dir, "quarantine.db")}`;
  const store = await openStore({ url });
  await migrate(store);
  return {
    store,
    dir,
    url,
    cleanup() {
      try {
        store.close();
      } catch {
        /* already closed */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function testConfig(input: ConfigInput = {}): Config {
  return v.parse(configSchema, input);
}

export const ADMIN: Actor = { scope: { kind: "admin", accountId: 1, login: "admin" }, via: "test", clientAddr: "127.0.0.1" };

export async function addDomain(store: Store, name: string, route: string | null = null): Promise<void> {
  await store.client.execute({ sql: "INSERT INTO domains (name, route, created_at) VALUES (?, ?, ?)", args: [name, route, Date.now()] });
}

let seq = 0;
export function sampleMessage(opts: { subject?: string; body?: string; headers?: string; to?: string } = {}): Uint8Array {
  seq++;
  const text =
    `From: Spammer <spam@bad.example>\r\n` +
    `To: ${opts.to ?? "alice@example.com"}\r\n` +
    `Subject: ${opts.subject ?? `Cheap watches ${seq}`}\r\n` +
    `Message-ID: <test-${seq}-${Date.now()}@bad.example>\r\n` +
    `Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n` +
    (opts.headers ?? "") +
    `MIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n` +
    `\r\n` +
    (opts.body ?? `Hello,\r\n.leading dot line\r\n..two dots\r\nBuy now! Grüße ${seq}\r\n`);
  return new TextEncoder().encode(text);
}

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface Sink {
  port: number;
  received: SinkMessage[];
  /** answers per DATA, in order (0: never answer); when exhausted, 250 */
  script: (number | undefined)[];
  attempts: number;
  close(): Promise<void>;
}

/** An in-process SMTP server; `script` decides the reply code of each DATA in turn. */
export async function startSink(script: (number | undefined)[] = [], opts: { rcptReply?: (addr: string) => number | undefined } = {}): Promise<Sink> {
  const sink: Sink = {
    port: 0,
    received: [],
    script,
    attempts: 0,
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    closeTimeout: 200,
    size: 60 * 1024 * 1024,
    onRcptTo(address, _session, cb) {
      const code = opts.rcptReply?.(address.address);
      if (code && code >= 400) {
        const e = new Error(code >= 500 ? "5.1.1 No such user here" : "4.2.1 Try again later") as Error & { responseCode: number };
        e.responseCode = code;
        return cb(e);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const code = sink.script[sink.attempts++];
        if (code === 0) return; // hang: the client waits until its timeout or death
        if (code && code >= 400) {
          const e = new Error(code >= 500 ? "5.7.1 Message rejected as spam" : "4.3.0 Temporary local problem") as Error & { responseCode: number };
          e.responseCode = code;
          return cb(e);
        }
        sink.received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        cb(null, "OK queued as test");
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  sink.port = (server.server.address() as { port: number }).port;
  sink.close = () => new Promise<void>((r) => server.close(() => r()));
  return sink;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, stepMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    p.on("error", (e) => {
      clearTimeout(t);
      reject(e);
    });
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(opts.input ?? "");
  });
}

/** Is an executable on PATH? */
export async function which(cmd: string): Promise<string | undefined> {
  try {
    const r = await run("sh", ["-c", `command -v ${cmd}`]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function rows<T = Record<string, unknown>>(store: Store, sql: string, args: (string | number | null)[] = []): Promise<T[]> {
  const r = await store.client.execute({ sql, args });
  return r.rows.map((row) => ({ ...row }) as T);
}

/** A TCP port that was free a moment ago (for external daemons that need a number up front). */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
