/**
 * `ingest` and `import` from the command line: they quarantine only for recipients that have a
 * quarantine (as LMTP does), and `token add` only for a domain that exists.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openStore, type Store } from "../../src/storage/db.ts";
import { runCli } from "../helpers/cli.ts";

let dir: string;
let data: string;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qcli-ingest-"));
  data = join(dir, "data");
  env = { QUARANTINED_DATA_DIR: data };
  assert.equal((await runCli(["migrate"], { env })).code, 0);
  assert.equal((await runCli(["domain", "add", "example.com"], { env })).code, 0);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const eml = (to: string, subject: string, extra = "") => `${extra}From: Spammer <junk@spam.test>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

async function withStore<T>(fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore({ url: `file:${join(data, "quarantine.db")}` });
  try {
    await migrate(s);
    return await fn(s);
  } finally {
    s.close();
  }
}

const rows = (sql: string, args: (string | number)[] = []) => withStore(async (s) => (await s.client.execute({ sql, args })).rows);

test("ingest, import --rcpt and token add refuse a domain with no quarantine, in one line", async () => {
  const noDomain = (cmd: string, d: string) => `quarantined ${cmd}: no domain ${d}: add it first with "domain add ${d}"\n`;
  let r = await runCli(["ingest", "--rcpt", "zed@nowhere.test", "-"], { env, stdin: eml("zed@nowhere.test", "t") });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, noDomain("ingest", "nowhere.test"));
  // one unknown recipient among known ones refuses the whole message
  r = await runCli(["ingest", "--rcpt", "a@example.com", "--rcpt", "zed@Nowhere.test", "-"], { env, stdin: eml("a@example.com", "t") });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, noDomain("ingest", "nowhere.test"));

  const eml1 = join(dir, "one");
  mkdirSync(eml1);
  writeFileSync(join(eml1, "1.eml"), eml("zed@nowhere.test", "t"));
  r = await runCli(["import", eml1, "--rcpt", "zed@nowhere.test"], { env });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, noDomain("import", "nowhere.test"));

  r = await runCli(["token", "add", "t1", "--scope", "nosuch.test"], { env });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, noDomain("token", "nosuch.test"));
  assert.equal((await runCli(["token", "add", "t2", "--scope", "example.com"], { env })).code, 0);
  assert.equal(Number((await rows("SELECT count(*) AS n FROM messages"))[0].n), 0, "nothing was quarantined");
});

test("import skips messages for domains with no quarantine and says which", async () => {
  const src = join(dir, "mixed");
  mkdirSync(src);
  writeFileSync(join(src, "1.eml"), eml("alice@example.com", "known"));
  writeFileSync(join(src, "2.eml"), eml("nobody@unknown.test", "unknown 1"));
  writeFileSync(join(src, "3.eml"), eml("other@unknown.test", "unknown 2"));
  const r = await runCli(["import", src, "--quiet"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped 2 message\(s\): no domain unknown\.test: add it first with "domain add unknown\.test"/);
  assert.match(r.stderr, /imported 1\/3 messages \(1 rows, 2 skipped\)/);
  const got = await rows("SELECT recipient FROM messages ORDER BY id");
  assert.deepEqual(got.map((x) => x.recipient), ["alice@example.com"]);
});

test("an alias or account covers an address in a domain without a quarantine; account add names the domain it adds", async () => {
  const r = await runCli(["account", "add", "bob@example.net", "--password-stdin"], { env, stdin: "pw-pw-pw-pw\n" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "added domain example.net (it had no quarantine yet)\nadded user account bob@example.net\n");
  assert.equal((await runCli(["account", "alias", "bob@example.net", "bob@elsewhere.test"], { env })).code, 0);
  const ing = await runCli(["ingest", "--rcpt", "bob@elsewhere.test", "-"], { env, stdin: eml("bob@elsewhere.test", "via alias") });
  assert.equal(ing.code, 0, ing.stderr);
});

test("ingest without --sender takes the envelope sender from Return-Path, else From", async () => {
  const cases: [string, string[], string][] = [
    [eml("alice@example.com", "rp", "Return-Path: <bounce@bad.test>\r\n"), [], "bounce@bad.test"],
    [eml("alice@example.com", "from"), [], "junk@spam.test"],
    [eml("alice@example.com", "given", "Return-Path: <bounce@bad.test>\r\n"), ["--sender", "given@bad.test"], "given@bad.test"],
    [eml("alice@example.com", "none"), ["--sender", ""], ""],
  ];
  for (const [raw, args, sender] of cases) {
    const r = await runCli(["ingest", "--rcpt", "alice@example.com", ...args, "-"], { env, stdin: raw });
    assert.equal(r.code, 0, r.stderr);
    const uid = Number(/UID (\d+)/.exec(r.stdout)![1]);
    assert.deepEqual((await rows("SELECT sender FROM messages WHERE id = ?", [uid])).map((x) => x.sender), [sender]);
  }
});

test("import run twice over the same source adds nothing the second time", async () => {
  const md = join(dir, "Maildir");
  for (const d of ["cur", "new", "tmp"]) mkdirSync(join(md, d), { recursive: true });
  writeFileSync(join(md, "cur", "1:2,S"), eml("carol@example.com", "m1"));
  writeFileSync(join(md, "cur", "2:2,S"), eml("carol@example.com", "m2"));
  writeFileSync(join(md, "new", "3"), eml("dave@example.com", "m1"));
  writeFileSync(join(md, "new", "4"), eml("carol@example.com", "m2")); // the same message twice in the source
  const count = async () => Number((await rows("SELECT count(*) AS n FROM messages WHERE recipient IN ('carol@example.com', 'dave@example.com')"))[0].n);

  let r = await runCli(["import", md, "--quiet"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imported 3\/4 messages \(3 rows, 1 skipped\)/);
  assert.equal(await count(), 3);

  // a row that left Caught still counts: the message was quarantined for carol once
  await withStore((s) => s.client.execute("UPDATE messages SET state = 'deleted' WHERE recipient = 'carol@example.com'"));
  r = await runCli(["import", md, "--quiet"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped 4 message\(s\) already quarantined for their recipient/);
  assert.match(r.stderr, /imported 0\/4 messages \(0 rows, 4 skipped\)/);
  assert.equal(await count(), 3);

  // the same content for another recipient is new
  r = await runCli(["import", md, "--quiet", "--rcpt", "alice@example.com"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imported 3\/4 messages \(3 rows, 1 skipped\)/);
});

test("import reads regular files only: symlinks, directories and FIFOs are skipped by name, an empty file too; nothing hangs", { timeout: 60_000 }, async () => {
  const md = join(dir, "JunkMaildir");
  for (const d of ["cur", "new", "tmp"]) mkdirSync(join(md, d), { recursive: true });
  writeFileSync(join(md, "cur", "1:2,S"), eml("erin@example.com", "good one"));
  const secret = join(dir, "secret.txt");
  writeFileSync(secret, "root:$y$not-for-the-quarantine\n");
  symlinkSync(secret, join(md, "cur", "2.link"));
  symlinkSync(join(dir, "nowhere"), join(md, "cur", "3.dangling"));
  mkdirSync(join(md, "cur", "4.dir"));
  writeFileSync(join(md, "new", "5.empty"), "");
  const fifo = spawnSync("mkfifo", [join(md, "new", "6.fifo")]);
  const r = await runCli(["import", md, "--quiet", "--rcpt", "erin@example.com"], { env, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /skipped .*2\.link: a symbolic link, not read/);
  assert.match(r.stderr, /skipped .*3\.dangling: a symbolic link, not read/);
  assert.match(r.stderr, /skipped .*4\.dir: a directory, not read/);
  assert.match(r.stderr, /skipped .*5\.empty: empty/);
  // Deno's Dirent does not tell FIFOs apart: either wording, never read
  if (fifo.status === 0) assert.match(r.stderr, /skipped .*6\.fifo: (a FIFO|not a regular file), not read/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  const stored = await rows("SELECT raw_size FROM messages WHERE recipient = 'erin@example.com'");
  assert.equal(stored.length, 1, "only the regular file was imported");
});
