/** `domain add` / `domain set` and the usage errors of the admin commands: one line, exit 2. */
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

test("domain set says what it set in words; a negative --retention-days is a range error, not an option error", async () => {
  let r = await runCli(["domain", "set", "z.test", "--retention-days", "30", "--route", "mx.z.test:2525"], { env });
  assert.equal(r.stdout, "domain z.test: mail kept 30 days, releases go to mx.z.test:2525\n");
  r = await runCli(["domain", "set", "z.test", "--retention-days", "default", "--route", "default"], { env });
  assert.equal(r.stdout, "domain z.test: mail kept 14 days (the default), releases have no route (give --route, or configure smtp.smarthost)\n");
  for (const args of [["domain", "add", "y.test", "--retention-days", "-5"], ["domain", "add", "y.test", "--retention-days=-5"]]) {
    r = await runCli(args, { env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `quarantined domain: --retention-days: expected a whole number from 1 to 3650, got "-5"\n`);
  }
});

test("usage errors name the command once; a bad expire --now is one line, exit 2", async () => {
  const cases: [string[], string][] = [
    [["expire", "--now", "2027-13-45"], `quarantined expire: --now: expected an ISO date (2026-05-01 or 2026-05-01T12:00:00Z), got "2027-13-45"`],
    [["ingest", "--rcpt", "a@z.test", join(dir, "nonexistent.eml")], `quarantined ingest: cannot read ${join(dir, "nonexistent.eml")} (ENOENT)`],
    [["import", join(dir, "nonexistent")], `quarantined import: ${join(dir, "nonexistent")} does not exist`],
    [["account", "add"], "quarantined account: add: NAME is required"],
    [["token", "frob"], `quarantined token: unknown subcommand "frob" (add, list, remove)`],
  ];
  for (const [args, line] of cases) {
    const r = await runCli(args, { env });
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr, line + "\n");
  }
  // a negative score is a value, not an option
  const r = await runCli(["ingest", "--rcpt", "a@z.test", "--score", "-3.5", "-"], { env, stdin: "Subject: ham-ish\r\n\r\nx\r\n" });
  assert.equal(r.code, 0, r.stderr);
});

test("an unreachable libSQL server is one line that says why", async () => {
  const r = await runCli(["domain", "list", "--db", "http://127.0.0.1:1"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^quarantined domain: database http:\/\/127\.0\.0\.1:1: cannot open \(\w.*\)\n$/);
  assert.doesNotMatch(r.stderr, /Failed query/);
});
