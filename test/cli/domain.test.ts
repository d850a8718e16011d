/** `domain add` / `domain set` from the command line: bad values are one line, exit 2. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

let dir: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qcli-domain-"));
  env = { QUARANTINED_DATA_DIR: join(dir, "data") };
  assert.equal((await runCli(["migrate"], { env })).code, 0);
  assert.equal((await runCli(["domain", "add", "z.test"], { env })).code, 0);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("--route with a port outside 1..65535 or a malformed HOST:PORT is refused by add and set", async () => {
  for (const [route, why] of [
    ["host:0", "expected a port from 1 to 65535"],
    ["host:65536", "expected a port from 1 to 65535"],
    ["host:99999", "expected a port from 1 to 65535"],
    ["a b c:25", "expected HOST or HOST:PORT"],
    ["host:", "expected HOST or HOST:PORT"],
  ]) {
    for (const args of [["domain", "add", "z2.test", "--route", route], ["domain", "set", "z.test", "--route", route]]) {
      const r = await runCli(args, { env });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}`);
      assert.equal(r.stderr, `quarantined domain: --route: ${why}, got ${JSON.stringify(route)}\n`);
    }
  }
  const ok = await runCli(["domain", "set", "z.test", "--route", "[2001:db8::1]:2525"], { env });
  assert.equal(ok.code, 0, ok.stderr);
  const list = await runCli(["domain", "list"], { env });
  assert.match(list.stdout, /^z\.test\tretention=default\troute=\[2001:db8::1\]:2525$/m);
  assert.doesNotMatch(list.stdout, /z2\.test/);
});
