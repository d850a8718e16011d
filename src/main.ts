#!/usr/bin/env bun
/** Entry point of the quarantined binary and of `bun src/main.ts` / `deno run -A src/main.ts`. */
// First: in a compiled binary, fail clearly when TMPDIR cannot take the libSQL addon.
import "./runtime/tmpdir-check.ts";

// Where worker entry points (prepare-worker.ts, codec-worker.ts) are, resolved here so it
// holds in the compiled binary too.
(globalThis as { quarantinedWorkerDir?: string }).quarantinedWorkerDir = new URL("./", import.meta.url).href;

const { main } = await import("./cli/index.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// A command that failed half-way may leave a handle behind (a listener that did start, a
// worker); its error is printed, so end the process rather than hang.
if (code !== 0) setTimeout(() => process.exit(code), 100);
