/** Starts a real server in-process on loopback ports chosen by the OS, with a fresh data dir. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/index.ts";
import { setLogQuiet } from "../../src/observability/log.ts";
import { addAccount } from "../../src/quarantine/accounts.ts";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { startServer, type RunningServer } from "../../src/server.ts";

export const ADMIN_PASSWORD = "adminpass1";
export const PASSWORD = "password1";

export interface TestServer {
  server: RunningServer;
  dir: string;
  imaps: number;
  imap: number;
  http: number;
  ingest(rcpts: string[], raw?: string | Uint8Array): Promise<number[]>;
  stop(): Promise<void>;
}

export function message(subject: string, to = "alice@example.com", body = "Hello there, this is spam.\r\n"): string {
  return `From: Spammer <spam@bad.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Fri, 20 Nov 2026 13:27:30 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}.${Math.random().toString(36).slice(2)}@bad.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${body}`;
}

/**
 * Config for servers whose tests release messages: a release needs somewhere to go (a domain
 * route or a smarthost). Nothing listens on the discard port, so deliveries just wait to retry.
 */
export const RELEASE_ROUTED = { smtp: { smarthost: { host: "127.0.0.1", port: 9 } } };

export async function startTestServer(extra: Record<string, unknown> = {}, users: string[] = []): Promise<TestServer> {
  setLogQuiet(true);
  const dir = mkdtempSync(join(tmpdir(), "quarantined-test-"));
  const config = resolveConfig([
    {
      source: "test",
      values: {
        dataDir: dir,
        host: "127.0.0.1",
        imap: { implicitTls: { port: 0 }, starttls: { port: 0 } },
        http: { port: 0 },
        admin: { password: ADMIN_PASSWORD },
        ...extra,
      },
    },
  ]);
  const server = await startServer(config);
  for (const u of users) await addAccount(server.store, { login: u, password: PASSWORD });
  return {
    server,
    dir,
    imaps: server.ports.imaps!,
    imap: server.ports.imap!,
    http: server.ports.http!,
    async ingest(rcpts, raw) {
      const r = await ingestOne(server.store, { raw: typeof raw === "object" ? raw : new TextEncoder().encode(raw ?? message("Test")), recipients: rcpts, sender: "spam@bad.test" }, { defaultRetentionDays: 14 });
      server.imap.notifier.kick();
      return r.ids;
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
