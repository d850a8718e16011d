/**
 * `serve` with a certificate it cannot use stops at once: one line naming the config key,
 * exit 2, nothing written (no database, no super-admin). --print-config checks the same.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSelfSigned } from "../../src/tls/index.ts";
import { runCli } from "../helpers/cli.ts";

let dir: string;
let cert: string;
let key: string;
let otherKey: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qcli-tls-"));
  cert = join(dir, "cert.pem");
  key = join(dir, "key.pem");
  await writeSelfSigned({ certPath: cert, keyPath: key }, "mail.example.test");
  otherKey = join(dir, "other.pem");
  writeFileSync(otherKey, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
});

after(() => rmSync(dir, { recursive: true, force: true }));

const SERVE = ["serve", "--imaps-port", "off", "--imap-port", "off", "--http-port", "off"];

async function refused(env: Record<string, string>, line: RegExp): Promise<void> {
  const data = join(dir, "data");
  for (const args of [[...SERVE, "--data-dir", data], ["serve", "--print-config"]]) {
    const r = await runCli(args, { env: { QUARANTINED_ADMIN_PASSWORD: "cli-tls-admin", ...env } });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr.trim(), line);
    assert.equal(r.stdout, "");
  }
  assert.equal(existsSync(data), false, "nothing is written before the certificate is checked");
}

test("a certificate without its key (or a key alone) stops the start", async () => {
  await refused({ QUARANTINED_TLS_CERT: cert }, /^quarantined serve: tls\.key: required when tls\.cert is set/);
  await refused({ QUARANTINED_TLS_KEY: key }, /^quarantined serve: tls\.cert: required when tls\.key is set/);
});

test("a missing or unparsable certificate file stops the start, naming the key and the file", async () => {
  const missing = join(dir, "nope", "cert.pem");
  await refused({ QUARANTINED_TLS_CERT: missing, QUARANTINED_TLS_KEY: key }, new RegExp(`^quarantined serve: tls\\.cert: cannot read ${missing}: ENOENT$`));
  await refused({ QUARANTINED_TLS_CERT: key, QUARANTINED_TLS_KEY: key }, /^quarantined serve: tls\.cert: .*key\.pem is not a valid PEM certificate/);
});

test("a key that does not belong to the certificate stops the start", async () => {
  await refused({ QUARANTINED_TLS_CERT: cert, QUARANTINED_TLS_KEY: otherKey }, /^quarantined serve: tls\.key: .*other\.pem does not belong to the certificate .*cert\.pem$/);
});

test("--print-config accepts a certificate and key that match", async () => {
  const r = await runCli(["serve", "--print-config"], { env: { QUARANTINED_TLS_CERT: cert, QUARANTINED_TLS_KEY: key } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).tls.cert, cert);
});

test("a self-signed pair in <dataDir>/tls with a file missing is one line too", async () => {
  const data = join(dir, "half");
  mkdirSync(join(data, "tls"), { recursive: true });
  copyFileSync(cert, join(data, "tls", "cert.pem"));
  const r = await runCli([...SERVE, "--data-dir", data]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr.trim(), /^quarantined serve: TLS private key: .*key\.pem is missing \(its partner exists\)[^\n]*$/);
  assert.equal(existsSync(join(data, "quarantine.db")), false);
});
