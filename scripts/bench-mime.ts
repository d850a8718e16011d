// Micro-benchmark: indexMessage() over the bench corpus, repeated.
//   bun scripts/bench-mime.ts [corpusDir=/tmp/mimecorpus] [rounds=50]
// Make the corpus with: node /work/shared/bench/corpus.mjs --count 20 --seed 1 --out /tmp/mimecorpus
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { indexMessage, normalizeCrlf } from "../src/mime/index.ts";

const dir = process.argv[2] ?? "/tmp/mimecorpus";
const rounds = Number(process.argv[3] ?? 50);
const emlDir = existsSync(`${dir}/eml`) ? `${dir}/eml` : dir;
const msgs = readdirSync(emlDir).filter((f) => f.endsWith(".eml")).sort()
  .map((f) => normalizeCrlf(new Uint8Array(readFileSync(`${emlDir}/${f}`))));
if (msgs.length === 0) throw new Error(`no .eml files in ${emlDir}`);
const bytes = msgs.reduce((n, m) => n + m.length, 0);
for (let i = 0; i < 5; i++) for (const m of msgs) indexMessage(m); // warm-up
const t0 = performance.now();
for (let r = 0; r < rounds; r++) for (const m of msgs) indexMessage(m);
const ms = performance.now() - t0;
const n = rounds * msgs.length;
console.log(
  `indexMessage: ${msgs.length} messages (avg ${(bytes / msgs.length / 1024).toFixed(1)} KiB) x ${rounds} rounds: ` +
    `${Math.round(n / (ms / 1000))} messages/s, ${((ms / n) * 1000).toFixed(0)} µs/message, ` +
    `${((bytes * rounds) / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
);
