import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, maskSecrets } from "../../src/config/index.ts";

test("defaults", () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.imap.implicitTls.port, 993);
  assert.equal(c.imap.starttls.port, 143);
  assert.equal(c.http.port, 8080);
  assert.equal(c.lmtp.enabled, false);
  assert.equal(c.dataDir, "./data");
});

test("layers: file < environment < flags", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcfg-"));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ http: { port: 1000 }, imap: { starttls: { port: 1001 } }, dataDir: "/file" }));
  const c = loadConfig({ configFile: file, env: { QUARANTINED_HTTP_PORT: "2000", QUARANTINED_DATA_DIR: "/env" }, flags: { "data-dir": "/flag" } });
  assert.equal(c.imap.starttls.port, 1001);
  assert.equal(c.http.port, 2000);
  assert.equal(c.dataDir, "/flag");
  assert.equal(loadConfig({ env: { QUARANTINED_IMAP_PORT: "off" } }).imap.starttls.enabled, false);
});

test("errors name the key and where it came from", () => {
  assert.throws(() => loadConfig({ env: { QUARANTINED_IMAPS_PORT: "abc" } }), (e: Error) => e instanceof ConfigError && /QUARANTINED_IMAPS_PORT/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), "qcfg-"));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ imap: { starttls: { prot: 1 } } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), /imap\.starttls\.prot: unknown key \(from .*c\.json\)/);
  writeFileSync(file, JSON.stringify({ limits: { maxConnections: -5 } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), /limits\.maxConnections: /);
  writeFileSync(file, "{not json");
  assert.throws(() => loadConfig({ configFile: file, env: {} }), /not valid JSON/);
});

test("unknown QUARANTINED_* variables: Kubernetes service links are ignored, others are one warning each", () => {
  const warnings: string[] = [];
  const env = {
    // what Kubernetes injects for a Service named "quarantined"
    QUARANTINED_SERVICE_HOST: "10.96.0.10",
    QUARANTINED_SERVICE_PORT: "993",
    QUARANTINED_SERVICE_PORT_IMAPS: "993",
    QUARANTINED_PORT: "tcp://10.96.0.10:993",
    QUARANTINED_PORT_993_TCP: "tcp://10.96.0.10:993",
    QUARANTINED_PORT_993_TCP_PROTO: "tcp",
    QUARANTINED_PORT_993_TCP_PORT: "993",
    QUARANTINED_PORT_993_TCP_ADDR: "10.96.0.10",
    QUARANTINED_NOPE: "1",
    QUARANTINED_HTTP_PORT: "2000",
  };
  const c = loadConfig({ env, warn: (l) => warnings.push(l) });
  assert.equal(c.http.port, 2000);
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /^QUARANTINED_NOPE: unknown environment variable, ignored/);
});

test("secrets are masked", () => {
  const c = loadConfig({ env: { QUARANTINED_ADMIN_PASSWORD: "supersecret", QUARANTINED_DB_AUTH_TOKEN: "tok" } });
  const text = JSON.stringify(maskSecrets(c));
  assert.doesNotMatch(text, /supersecret|"tok"/);
});

test("a secret of the wrong type is named, never echoed", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcfg-"));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ admin: { password: 123456789 } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => /^admin\.password: Invalid type: Expected string \(from /.test(e.message) && !e.message.includes("123456789"));
  writeFileSync(file, JSON.stringify({ training: { sink: "webhook", webhook: { url: "http://127.0.0.1:9/h", secret: 987654321 } } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => /^training\.webhook\.secret: /.test(e.message) && !e.message.includes("987654321"));
});

test("the training sink chosen needs its section, checked with the rest of the config", () => {
  const dir = mkdtempSync(join(tmpdir(), "qcfg-"));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ training: { sink: "rspamd" } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), /training\.rspamd: required when training\.sink is "rspamd" \(from /);
  writeFileSync(file, JSON.stringify({ training: { sink: "webhook" } }));
  assert.throws(() => loadConfig({ configFile: file, env: {} }), /training\.webhook: required when training\.sink is "webhook"/);
  writeFileSync(file, JSON.stringify({ training: { sink: "spamd" } }));
  assert.equal(loadConfig({ configFile: file, env: {} }).training.sink, "spamd");
});
