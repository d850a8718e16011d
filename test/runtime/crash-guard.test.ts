/**
 * The serve command's last-resort handlers (src/runtime/crash-guard.ts), in a child process of
 * the runtime running this test (Bun or Deno): an uncaught exception, an 'error' event without
 * a listener and an unhandled rejection are logged and the process keeps running. Without the
 * guard the same script dies, so the faults are real.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "crash-guard-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, "faults.ts");
writeFileSync(
  script,
  `import { installCrashGuard } from ${JSON.stringify(new URL("../../src/runtime/crash-guard.ts", import.meta.url).href)};
import { EventEmitter } from "node:events";
if (process.argv.includes("guard")) installCrashGuard();
setTimeout(() => { throw new Error("thrown in a timer"); }, 10);
setTimeout(() => new EventEmitter().emit("error", new Error("error event without a listener")), 30);
setTimeout(() => void Promise.reject(new Error("rejected promise")), 50);
setTimeout(() => console.log("still alive"), 300);
`,
);

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = "Deno" in globalThis ? ["run", "-A", script, ...args] : [script, ...args];
  return new Promise((resolve) => {
    const p = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d) => (stdout += d));
    p.stderr!.on("data", (d) => (stderr += d));
    const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

test("with the guard, uncaught errors are logged and the process keeps running", async () => {
  const r = await run(["guard"]);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { level: string; event: string; error: string });
  assert.deepEqual(events.map((e) => [e.level, e.event]), [
    ["error", "process.uncaught_exception"],
    ["error", "process.uncaught_exception"],
    ["error", "process.unhandled_rejection"],
  ]);
  assert.match(events[0].error, /thrown in a timer/);
  assert.match(events[1].error, /error event without a listener/);
  assert.match(events[2].error, /rejected promise/);
  assert.match(r.stdout, /still alive/);
});

test("without it, the same script dies at the first fault", async () => {
  const r = await run([]);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /still alive/);
});
