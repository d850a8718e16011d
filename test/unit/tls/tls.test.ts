/**
 * Real sockets on 127.0.0.1: implicit TLS (1.3 and 1.2), TLS 1.1 refused (openssl),
 * STARTTLS upgrade, hot reload keeping old connections up.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { createTlsServer, ensureSelfSigned, normSerial, TlsContextStore, upgradeToTls, writeSelfSigned, type TlsFiles } from "../../../src/tls/index.ts";

let dir: string;
let files: TlsFiles;
let store: TlsContextStore;
const events: Array<[string, Record<string, unknown>]> = [];
const cleanup: Array<() => unknown> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qtls-"));
  files = await ensureSelfSigned(dir, "quarantine.test");
  store = new TlsContextStore(files, (e, f) => events.push([e, f]));
  store.load();
});

after(async () => {
  for (const c of cleanup.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** TLS echo server using the store's options, tracked for cleanup. */
async function echoServer(): Promise<{ port: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = createTlsServer(store, (s) => {
    sockets.add(s);
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  const port = await listen(server);
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return closeServer(server);
  });
  return { port, sockets };
}

function connect(port: number, opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ...opts }, () => resolve(s));
    s.once("error", reject);
  });
}

function roundTrip(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (d: Buffer) => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off("data", onData);
        resolve(got);
      }
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(text);
  });
}

const caPem = () => readFileSync(files.certPath, "utf8");

test("ensureSelfSigned writes a P-256 serverAuth cert with the expected SANs, key 0600, and is idempotent", async () => {
  const x = new X509Certificate(caPem());
  assert.match(x.subjectAltName ?? "", /DNS:quarantine\.test/);
  assert.match(x.subjectAltName ?? "", /DNS:localhost/);
  assert.match(x.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  assert.match(x.subjectAltName ?? "", /IP Address:(0:0:0:0:0:0:0:1|::1)/i);
  assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  const days = (new Date(x.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 700 && days < 740, `validity ${days} days`);
  assert.ok(x.checkHost("localhost"));
  assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
  assert.equal(store.notAfter.getTime(), new Date(x.validTo).getTime());

  const before = caPem();
  await ensureSelfSigned(dir, "quarantine.test");
  assert.equal(caPem(), before, "existing files are kept");
});

test("ensureSelfSigned makes our own certificate again when the hostname changes, never an operator's", async () => {
  const d = mkdtempSync(join(tmpdir(), "qtls-host-"));
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  const logged: Array<[string, Record<string, unknown>]> = [];
  const f = await ensureSelfSigned(d, "old.example.test");
  const certOf = () => new X509Certificate(readFileSync(f.certPath));
  assert.ok(certOf().checkHost("old.example.test"));

  await ensureSelfSigned(d, "new.example.test", (e, fields) => logged.push([e, fields]));
  assert.ok(certOf().checkHost("new.example.test"), "made again for the new name");
  assert.equal(certOf().checkHost("old.example.test"), undefined);
  assert.deepEqual(logged.map(([e, x]) => [e, x.hostname, x.previousHostname]), [["tls.self_signed_regenerated", "new.example.test", "old.example.test"]]);
  new TlsContextStore(f).load(); // the new key belongs to the new certificate

  const same = readFileSync(f.certPath, "utf8");
  await ensureSelfSigned(d, "new.example.test");
  assert.equal(readFileSync(f.certPath, "utf8"), same, "same name: kept");

  // An operator's certificate in <dataDir>/tls (here self-signed too, for other names) is kept.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(globalThis.crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const own = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=mail.example.org",
    keys,
    signingAlgorithm: alg,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "mail.example.org" }])],
  });
  writeFileSync(f.certPath, own.toString("pem") + "\n");
  writeFileSync(f.keyPath, x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY") + "\n");
  const operator = readFileSync(f.certPath, "utf8");
  await ensureSelfSigned(d, "other.example.test");
  assert.equal(readFileSync(f.certPath, "utf8"), operator, "an operator's certificate is never replaced");
});

test("load() names the broken file", async () => {
  const bad = mkdtempSync(join(tmpdir(), "qtls-bad-"));
  cleanup.push(() => rmSync(bad, { recursive: true, force: true }));
  const missing = new TlsContextStore({ certPath: join(bad, "nope.pem"), keyPath: files.keyPath });
  assert.throws(() => missing.load(), /nope\.pem/);
  writeFileSync(join(bad, "garbage.pem"), "not a cert");
  const garbage = new TlsContextStore({ certPath: join(bad, "garbage.pem"), keyPath: files.keyPath });
  assert.throws(() => garbage.load(), /garbage\.pem/);
  writeFileSync(join(bad, "badkey.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  const badKey = new TlsContextStore({ certPath: files.certPath, keyPath: join(bad, "badkey.pem") });
  assert.throws(() => badKey.load(), /badkey\.pem/);
  const { generateKeyPairSync } = await import("node:crypto");
  const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" });
  writeFileSync(join(bad, "otherkey.pem"), other);
  const mismatch = new TlsContextStore({ certPath: files.certPath, keyPath: join(bad, "otherkey.pem") });
  assert.throws(() => mismatch.load(), /otherkey\.pem does not belong/);
});

test("TLS 1.3 and TLS 1.2 connect and verify against the self-signed cert", async () => {
  const { port } = await echoServer();
  for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
    const s = await connect(port, { ca: caPem(), servername: "localhost", minVersion: version, maxVersion: version });
    assert.equal(s.getProtocol(), version);
    assert.equal(s.authorized, true);
    if (version === "TLSv1.2") assert.match(s.getCipher().name, /ECDHE/);
    assert.equal(await roundTrip(s, `hello ${version}`), `hello ${version}`);
    s.destroy();
  }
});

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.stdin.end(); // s_client exits at EOF on stdin
    const t = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => {
      clearTimeout(t);
      resolve({ code: -1, out: String(e) });
    });
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

test("TLS 1.1 is refused (openssl s_client -tls1_1)", async (t) => {
  const { port } = await echoServer();
  // SECLEVEL=0 so that the *client* is willing to speak TLS 1.1 at all (OpenSSL 3 refuses by default).
  const args = (p: number) => ["s_client", "-connect", `127.0.0.1:${p}`, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"];
  const r = await run("openssl", args(port));
  if (r.code === -1) return t.skip("openssl not available");
  const negotiated = /Protocol\s*:\s*TLSv1\.1/.test(r.out) && !/Cipher is \(NONE\)/.test(r.out);
  assert.equal(negotiated, false, r.out);
  assert.notEqual(r.code, 0, r.out);

  // Control: the same client against a server that does allow TLS 1.1 must succeed, otherwise
  // the refusal above proves nothing (the client may simply be unable to speak TLS 1.1).
  const x = readFileSync(files.keyPath, "utf8");
  const loose = tls.createServer({ cert: caPem(), key: x, minVersion: "TLSv1" }, (s) => s.end());
  const lport = await listen(loose);
  const c = await run("openssl", args(lport));
  await closeServer(loose);
  if (!/Protocol\s*:\s*TLSv1\.1/.test(c.out) || /Cipher is \(NONE\)/.test(c.out)) {
    t.diagnostic("control: this runtime/openssl pair cannot negotiate TLS 1.1 at all; refusal check is weak");
  }
});

/** Plain-text server that upgrades after "STARTTLS\r\n", then echoes over TLS. */
async function starttlsServer(): Promise<number> {
  const upgraded = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sock.on("error", () => {});
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      if (!buf.includes("\r\n")) return;
      if (buf.startsWith("STARTTLS\r\n")) {
        sock.off("data", onData);
        sock.write("OK Begin TLS\r\n");
        const t = upgradeToTls(sock, store);
        upgraded.add(t);
        t.on("data", (x) => t.write(x));
        t.on("error", () => {});
      } else {
        sock.end("BAD\r\n");
      }
    };
    sock.on("data", onData);
  });
  const port = await listen(server);
  cleanup.push(() => {
    for (const s of upgraded) s.destroy();
    return closeServer(server);
  });
  return port;
}

function starttlsConnect(port: number, opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const plain = net.connect(port, "127.0.0.1", () => plain.write("STARTTLS\r\n"));
    plain.once("error", reject);
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (!buf.includes("\r\n")) return;
      plain.off("data", onData);
      if (!buf.startsWith("OK")) return reject(new Error(buf));
      const s = tls.connect({ socket: plain, ...opts }, () => resolve(s));
      s.once("error", reject);
    };
    plain.on("data", onData);
  });
}

test("STARTTLS upgrade, with and without SNI", async () => {
  const port = await starttlsServer();
  for (const servername of ["localhost", undefined]) {
    const s = await starttlsConnect(port, { ca: caPem(), servername, checkServerIdentity: () => undefined });
    assert.equal(s.authorized, true);
    assert.equal(await roundTrip(s, "over tls\r\n"), "over tls\r\n");
    s.destroy();
  }
});

test("hot reload: new connections get the new cert, old ones stay up", async () => {
  const { port } = await echoServer();
  const sport = await starttlsServer();
  const oldSerial = store.serial;
  const trustAll = { rejectUnauthorized: false };
  const serialOf = (s: tls.TLSSocket) => normSerial(s.getPeerCertificate().serialNumber);

  // Old connections: implicit TLS with SNI, without SNI (IP host, no servername), and STARTTLS.
  const oldSni = await connect(port, { ...trustAll, servername: "localhost" });
  const oldNoSni = await connect(port, trustAll);
  const oldStarttls = await starttlsConnect(sport, trustAll);
  for (const s of [oldSni, oldNoSni, oldStarttls]) assert.equal(serialOf(s), oldSerial);

  const fresh = await writeSelfSigned(files, "quarantine.test");
  assert.equal(store.reload(), true);
  assert.equal(store.serial, normSerial(fresh.serial));
  assert.notEqual(store.serial, oldSerial);

  const newSni = await connect(port, { ...trustAll, servername: "localhost" });
  const newNoSni = await connect(port, trustAll);
  const newStarttls = await starttlsConnect(sport, trustAll);
  for (const s of [newSni, newNoSni, newStarttls]) assert.equal(serialOf(s), normSerial(fresh.serial));

  for (const s of [oldSni, oldNoSni, oldStarttls]) assert.equal(await roundTrip(s, "still here"), "still here");
  for (const s of [oldSni, oldNoSni, oldStarttls, newSni, newNoSni, newStarttls]) s.destroy();
});

test("a failed reload keeps the old context and logs", async () => {
  const serial = store.serial;
  const goodCert = caPem();
  writeFileSync(files.certPath, "broken");
  assert.equal(store.reload(), false);
  assert.equal(store.serial, serial);
  const last = events.at(-1)!;
  assert.equal(last[0], "tls.reload_failed");
  assert.match(String(last[1].error), /cert\.pem/);
  writeFileSync(files.certPath, goodCert);
  assert.equal(store.reload(), true);
});

test("watch(): replacing the files triggers a reload", async () => {
  const stop = store.watch();
  try {
    const fresh = await writeSelfSigned(files, "quarantine.test");
    const deadline = Date.now() + 5_000;
    while (store.serial !== normSerial(fresh.serial) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(store.serial, normSerial(fresh.serial));
  } finally {
    stop();
  }
});

test("watch(): SIGHUP triggers a reload", async (t) => {
  if (process.platform === "win32") return t.skip("no SIGHUP on Windows");
  const stop = store.watch();
  try {
    // Faster than the watcher's debounce (250 ms), so the signal is what reloads.
    const fresh = await writeSelfSigned(files, "quarantine.test");
    process.kill(process.pid, "SIGHUP");
    const deadline = Date.now() + 5_000;
    while (store.serial !== normSerial(fresh.serial) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(store.serial, normSerial(fresh.serial));
  } finally {
    stop();
  }
});
