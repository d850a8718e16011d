/**
 * Build the single binary: `bun scripts/build.ts [--entry src/main.ts] [--outfile dist/quarantined] [--target bun-linux-x64]`
 *
 * Bun.build API rather than the CLI because the libSQL native addon needs a plugin
 * (STACK-NOTES §7): libsql's index.js picks `@libsql/${target}` at run time, which the
 * bundler cannot follow, so we rewrite it to a static require of the addon that matches
 * the build target; the compiled binary then embeds the .node file and unpacks it into
 * $TMPDIR at start (hence src/runtime/tmpdir-check.ts).
 *
 * minify + bytecode + ESM: the fastest start measured (130 ms to first socket for the
 * full stack); bytecode needs format "esm" because of top-level await.
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    entry: { type: "string", default: "src/main.ts" },
    outfile: { type: "string", default: "dist/quarantined" },
    target: { type: "string", default: "bun-linux-x64" },
    "no-bytecode": { type: "boolean", default: false },
  },
});

const root = resolve(import.meta.dir, "..");
const entry = resolve(root, values.entry!);
const outfile = resolve(root, values.outfile!);
const target = values.target!;

/** Which @libsql/<platform> package holds the addon for a Bun compile target. */
function libsqlAddon(t: string): string {
  const m = /^bun-(linux|darwin|windows)-(x64|arm64)(?:-(baseline|modern))?(?:-(glibc|musl))?$/.exec(t);
  if (!m) throw new Error(`build: unsupported --target ${t}`);
  const [, os, arch, , libc] = m;
  const pkg = os === "linux" ? `linux-${arch}-${libc ?? "gnu"}` : os === "darwin" ? `darwin-${arch}` : `win32-${arch}-msvc`;
  return `@libsql/${pkg}/index.node`;
}

const addon = libsqlAddon(target);
if (!existsSync(resolve(root, "node_modules", addon))) {
  // Cross builds need the other platform's optional package installed (npm install --force @libsql/<pkg>).
  throw new Error(`build: ${addon} is not installed in node_modules; cannot embed the libSQL addon for ${target}`);
}
if (!existsSync(entry)) throw new Error(`build: entry ${entry} does not exist`);

const libsqlStatic: Bun.BunPlugin = {
  name: "libsql-static",
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/]index\.js$/ }, async (a) => {
      const src = await Bun.file(a.path).text();
      const needle = "require(`@libsql/${target}`)";
      if (!src.includes(needle)) throw new Error(`build: libsql/index.js changed; "${needle}" not found, update the plugin`);
      return { loader: "js", contents: src.replace(needle, `require(${JSON.stringify(addon)})`) };
    });
  },
};

mkdirSync(dirname(outfile), { recursive: true });
const started = performance.now();
let result: Bun.BuildOutput;
try {
  result = await Bun.build({
    // Workers are separate entry points; Bun embeds them and resolves new Worker(new URL(...)) to them.
    entrypoints: [entry, resolve(root, "src/prepare-worker.ts"), resolve(root, "src/codec-worker.ts"), resolve(root, "src/writer-worker.ts")],
    compile: { outfile, target: target as Bun.Build.CompileTarget },
    minify: true,
    bytecode: !values["no-bytecode"],
    format: "esm",
    sourcemap: "linked",
    plugins: [libsqlStatic],
  });
} catch (e) {
  // Bun.build throws an AggregateError of resolve/parse errors; print each once, no stack.
  const errors = e instanceof AggregateError ? e.errors : [e];
  for (const err of errors) {
    const pos = (err as { position?: { file: string; line: number; column: number } | null }).position;
    console.error(`${(err as Error).message ?? err}${pos ? ` (${pos.file}:${pos.line}:${pos.column})` : ""}`);
  }
  console.error("build failed");
  process.exit(1);
}
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
// The source maps are embedded in the executable (stack traces map without them); drop the side
// files, the worker entry points' ones included.
for (const name of [`${basename(outfile)}.map`, "prepare-worker.js.map", "codec-worker.js.map", "writer-worker.js.map"]) rmSync(join(dirname(outfile), name), { force: true });
const secs = ((performance.now() - started) / 1000).toFixed(1);
const mib = (statSync(outfile).size / 1048576).toFixed(1);
console.log(`built ${values.outfile} (${target}, ${mib} MiB) in ${secs} s`);
