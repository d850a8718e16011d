/**
 * The database (with its -wal and -shm files), the data directory and the certificate key are
 * for the server's user only: a fresh start creates them 0600 / 0700 whatever the umask.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/index.ts";
import { setLogQuiet } from "../../src/observability/log.ts";
import { startServer } from "../../src/server.ts";
import { runCli } from "../helpers/cli.ts";

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "qcli-perm-"));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

test("a fresh server start creates the data dir 0700 and the database, -wal, -shm and TLS key 0600", async () => {
  setLogQuiet(true);
  const data = join(dir, "serve", "data");
  const config = resolveConfig([
    { source: "test", values: { dataDir: data, host: "127.0.0.1", imap: { implicitTls: { port: 0 }, starttls: { port: 0 } }, http: { enabled: false }, admin: { password: "perm-admin-pw" } } },
  ]);
  const server = await startServer(config);
  try {
    assert.equal(mode(data), "700");
    for (const f of ["quarantine.db", "quarantine.db-wal", "quarantine.db-shm"]) {
      assert.ok(existsSync(join(data, f)), f);
      assert.equal(mode(join(data, f)), "600", f);
    }
    assert.equal(mode(join(data, "tls")), "700");
    assert.equal(mode(join(data, "tls", "key.pem")), "600");
  } finally {
    await server.stop();
  }
});

test("the CLI creates its files for its user only, even under umask 000", async () => {
  const data = join(dir, "cli", "data");
  const r = await runCli(["migrate", "--data-dir", data], { umask: "000" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(mode(data), "700");
  assert.equal(mode(join(data, "quarantine.db")), "600");
});
