/**
 * Admin commands need the server's database: run where there is none (a forgotten --data-dir)
 * they fail with one line naming the path instead of creating an empty one. Only `serve` and
 * `migrate` create it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";

let dir: string;

before(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "qcli-db-")));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("admin commands run where no database exists fail with one line and create nothing", async () => {
  const commands = [
    ["domain", "list"],
    ["domain", "add", "example.com"],
    ["account", "add", "zz@example.net", "--password-stdin"],
    ["account", "list"],
    ["token", "list"],
    ["expire"],
    ["ingest", "--rcpt", "a@example.com", "-"],
  ];
  for (const args of commands) {
    const r = await runCli(args, { cwd: dir, stdin: "pw-pw-pw-pw\n" });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr, `quarantined ${args[0]}: no database at ${join(dir, "data", "quarantine.db")} (start the server or run "quarantined migrate" first, or pass --data-dir)\n`);
    assert.equal(r.stdout, "");
  }
  assert.equal(existsSync(join(dir, "data")), false);
});

test("migrate creates the database; the admin commands then use it", async () => {
  const data = join(dir, "made");
  assert.equal((await runCli(["migrate", "--data-dir", data])).code, 0);
  const add = await runCli(["domain", "add", "example.com", "--data-dir", data]);
  assert.equal(add.code, 0, add.stderr);
  const list = await runCli(["domain", "list"], { env: { QUARANTINED_DATA_DIR: data } });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^example\.com\t/);
});

test("every command that opens the database says --data-dir in its --help", async () => {
  for (const cmd of ["account", "domain", "token", "expire", "ingest", "import", "migrate", "serve"]) {
    const r = await runCli([cmd, "--help"]);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    assert.match(r.stdout, /--data-dir/, cmd);
  }
});
