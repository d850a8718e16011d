/**
 * npm run bench:ingest — imports a generated corpus through the CLI import path into a fresh
 * database and prints messages/s and stored bytes per raw byte (targets: ≥ 2,000 msg/s, ≤ 0.6×).
 *   bun scripts/bench-ingest.ts [COUNT=10000]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const count = Number(process.argv[2] ?? 10000);
const corpus = join(tmpdir(), `quarantined-corpus-${count}`);
const run = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  new Promise<number>((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    p.on("close", (code) => resolve(code ?? 1));
  });

if (!existsSync(join(corpus, "manifest.json"))) {
  console.log(`generating ${count} messages in ${corpus} ...`);
  await run("node", [join(import.meta.dirname, "../../shared/bench/corpus.mjs"), "--count", String(count), "--seed", "1", "--out", corpus]);
}
const raw = readdirSync(join(corpus, "eml")).reduce((n, f) => n + statSync(join(corpus, "eml", f)).size, 0);
const results: { rate: number; ratio: number }[] = [];
for (let i = 0; i < 3; i++) {
  const dir = mkdtempSync(join(tmpdir(), "quarantined-bench-"));
  const started = performance.now();
  const code = await run(process.execPath, [join(import.meta.dirname, "../src/main.ts"), "import", join(corpus, "eml"), "--data-dir", dir, "--quiet"]);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`import failed with ${code}`);
  const stored = readdirSync(dir).filter((f) => f.startsWith("quarantine.db")).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  results.push({ rate: count / seconds, ratio: stored / raw });
  console.log(JSON.stringify({ run: i + 1, messages: count, seconds: +seconds.toFixed(2), msgPerSec: Math.round(count / seconds), rawBytes: raw, storedBytes: stored, storedPerRaw: +(stored / raw).toFixed(3) }));
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`ingest (CLI import, ${count} messages, process start included): median ${Math.round(median(results.map((r) => r.rate)))} msg/s (target >= 2000), stored/raw ${median(results.map((r) => r.ratio)).toFixed(3)} (target <= 0.6)`);
