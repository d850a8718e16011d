/** `deno task start` (the README's Deno route) runs the same source under Deno. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const deno = `${root}node_modules/.bin/deno`;

test("deno task start reaches the serve command", { skip: !existsSync(deno) && "deno is not installed (npm ci)" }, async () => {
  const p = spawn(deno, ["task", "start", "--help"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  const code = await new Promise((r) => p.on("close", r));
  assert.equal(code, 0, out);
  assert.match(out, /quarantined serve \[--config FILE\]/);
});
