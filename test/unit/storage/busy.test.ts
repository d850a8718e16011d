/**
 * Another process holding the write lock (a CLI import beside the server) must not freeze this
 * process: writes wait for it asynchronously, and the event loop keeps running meanwhile.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openStore } from "../../../src/storage/db.ts";
import { run, which } from "../../delivery/harness.ts";

/** Another process takes the write lock and keeps it for `ms`; resolves once it holds it, with its end. */
async function holdWriteLock(path: string, ms: number): Promise<{ released: Promise<void> }> {
  const code = `import sqlite3, time\nc = sqlite3.connect(${JSON.stringify(path)}, isolation_level=None)\nc.execute("BEGIN IMMEDIATE")\nprint("locked", flush=True)\ntime.sleep(${ms / 1000})\nc.execute("COMMIT")\n`;
  const p = spawn("python3", ["-c", code], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((r) => p.stdout.once("data", r));
  return { released: new Promise((r) => p.on("close", () => r())) };
}

/** Runs `fn` while measuring the longest gap between event-loop ticks. */
async function longestStall(fn: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 2);
  try {
    await fn();
  } finally {
    clearInterval(tick);
  }
  return Math.max(longest, performance.now() - last);
}

test("a write waits for another process's lock without stalling the event loop (client and native paths)", { timeout: 30_000 }, async (t) => {
  if (!(await which("python3"))) return t.skip("python3 is not installed");
  const dir = mkdtempSync(join(tmpdir(), "quarantined-busy-"));
  const path = join(dir, "q.db");
  const store = await openStore({ url: `file:${path}` });
  try {
    await migrate(store);
    let { released } = await holdWriteLock(path, 600);
    let started = performance.now();
    const clientStall = await longestStall(() => store.client.execute({ sql: "INSERT INTO meta(key, value) VALUES ('busy-client', 'x')" }));
    assert.ok(performance.now() - started >= 400, "the write waited for the other process");
    assert.ok(clientStall < 250, `event loop stalled ${clientStall.toFixed(0)} ms on the client path`);
    await released;

    ({ released } = await holdWriteLock(path, 600));
    started = performance.now();
    const nativeStall = await longestStall(() => store.native()!.transaction((tx) => tx.run("INSERT INTO meta(key, value) VALUES ('busy-native', 'x')")));
    assert.ok(performance.now() - started >= 400, "the write waited for the other process");
    assert.ok(nativeStall < 250, `event loop stalled ${nativeStall.toFixed(0)} ms on the native path`);
    await released;

    // committed, as another process sees it (not just visible on the connection that wrote it)
    const seen = await run("python3", ["-c", `import sqlite3\nprint([k for (k,) in sqlite3.connect(${JSON.stringify(path)}).execute("SELECT key FROM meta WHERE key LIKE 'busy-%' ORDER BY key")])`]);
    assert.equal(seen.stdout.trim(), "['busy-client', 'busy-native']");
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a lock held longer than the busy timeout still ends in SQLITE_BUSY, not a hang", { timeout: 30_000 }, async (t) => {
  if (!(await which("python3"))) return t.skip("python3 is not installed");
  const dir = mkdtempSync(join(tmpdir(), "quarantined-busy-"));
  const path = join(dir, "q.db");
  const store = await openStore({ url: `file:${path}`, busyTimeoutMs: 300 });
  try {
    await migrate(store);
    const { released } = await holdWriteLock(path, 1500);
    await assert.rejects(store.client.execute("INSERT INTO meta(key, value) VALUES ('busy-late', 'x')"), /SQLITE_BUSY|locked/i);
    await released;
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
