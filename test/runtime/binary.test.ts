/**
 * The compiled single binary, copied ALONE into an empty directory (no node_modules, no
 * sources) so that anything it still loads from disk shows up as a failure here.
 *
 * Uses dist/quarantined if present; QUARANTINED_TEST_BUILD=1 builds it first
 * (`bun scripts/build.ts`). Otherwise the tests skip with the reason.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RawClient } from "../helpers/imap-client.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
// QUARANTINED_TEST_BINARY points at another build (e.g. a cross-target one).
const dist = process.env.QUARANTINED_TEST_BINARY || join(root, "dist", "quarantined");
let dir = "";
let bin = "";
let skipReason: string | undefined;

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d) => (stdout += d));
    p.stderr!.on("data", (d) => (stderr += d));
    const t = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    p.on("error", (e) => {
      clearTimeout(t);
      resolve({ code: -1, signal: null, stdout, stderr: stderr + String(e) });
    });
    p.on("close", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

before(async () => {
  if (process.env.QUARANTINED_TEST_BUILD === "1") {
    const started = Date.now();
    const r = await run(join(root, "node_modules", ".bin", "bun"), ["scripts/build.ts"], { cwd: root, timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`build failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    console.log(`${r.stdout.trim()} [test-side ${((Date.now() - started) / 1000).toFixed(1)} s]`);
  }
  if (!existsSync(dist)) {
    skipReason = `${dist} not built (run \`bun scripts/build.ts\` or set QUARANTINED_TEST_BUILD=1)`;
    console.log(`binary tests skipped: ${skipReason}`);
    return;
  }
  dir = mkdtempSync(join(tmpdir(), "qbin-"));
  bin = join(dir, "quarantined");
  copyFileSync(dist, bin);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("binary: `quarantined version` runs from an empty directory", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const r = await run("./quarantined", ["version"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\d+\.\d+\.\d+/);
});

test("binary: an unwritable TMPDIR is one clear line and exit 2", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const missing = join(dir, "no-such-tmp");
  const r = await run("./quarantined", ["version"], { cwd: dir, env: { TMPDIR: missing } });
  assert.equal(r.code, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.stderr.trim(), `quarantined: TMPDIR (${missing}) is not writable; the embedded libSQL addon must be unpacked there`);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function exited(p: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (p.exitCode !== null || p.signalCode !== null ? resolve(p.exitCode) : p.once("exit", (c) => resolve(c))));
}

test("binary: `serve` starts from an empty directory and `healthcheck` reports it healthy", async (t) => {
  if (skipReason) return t.skip(skipReason);
  const [imaps, imap, http] = [await freePort(), await freePort(), await freePort()];
  const env = {
    QUARANTINED_DATA_DIR: join(dir, "data"),
    QUARANTINED_HOST: "127.0.0.1",
    QUARANTINED_IMAPS_PORT: String(imaps),
    QUARANTINED_IMAP_PORT: String(imap),
    QUARANTINED_HTTP_PORT: String(http),
    QUARANTINED_LMTP_PORT: "off",
    QUARANTINED_ADMIN_PASSWORD: "binary-admin-pw",
  };
  const serve = spawn("./quarantined", ["serve"], { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  serve.stdout!.on("data", (d) => (out += d));
  serve.stderr!.on("data", (d) => (out += d));
  try {
    const deadline = Date.now() + 20_000;
    let last: Run | undefined;
    while (Date.now() < deadline) {
      if (serve.exitCode !== null) {
        if (/unknown (sub)?command|usage/i.test(out)) return t.skip(`serve not available in this build yet: ${out.trim().split("\n")[0]}`);
        assert.fail(`serve exited with ${serve.exitCode}:\n${out}`);
      }
      last = await run("./quarantined", ["healthcheck"], { cwd: dir, env, timeoutMs: 10_000 });
      if (last.code === 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(last?.code, 0, `healthcheck never succeeded:\n${last?.stdout}${last?.stderr}\nserve output:\n${out}`);

    // A second process of the same binary quarantines a message into the running server's
    // database; the server hands it out over IMAPS byte for byte.
    const raw = "From: a@spam.test\r\nTo: bin@example.com\r\nSubject: from the binary\r\n\r\nhello from a compiled binary\r\n";
    const domain = await run("./quarantined", ["domain", "add", "example.com"], { cwd: dir, env });
    assert.equal(domain.code, 0, domain.stderr);
    const ingest = spawn("./quarantined", ["ingest", "--rcpt", "bin@example.com", "-"], { cwd: dir, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    ingest.stdin!.end(raw);
    assert.equal(await exited(ingest), 0);
    const c = await RawClient.connect(imaps, true);
    assert.match(await c.cmd("a", "LOGIN admin binary-admin-pw"), /^a OK/m);
    await c.cmd("b", "EXAMINE Caught");
    const fetched = await c.cmd("c", "UID FETCH 1:* (BODY.PEEK[])");
    assert.ok(fetched.includes(`{${raw.length}}\r\n${raw})`), fetched);
    c.close();
  } finally {
    serve.kill("SIGTERM");
    const code = await Promise.race([exited(serve), new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000))]);
    if (code === "timeout") serve.kill("SIGKILL");
    assert.notEqual(code, "timeout", "serve did not stop within 10 s of SIGTERM");
  }
});
