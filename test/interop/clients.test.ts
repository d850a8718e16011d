/**
 * Interop: real, independently written IMAP clients (imapflow, Python imaplib, curl, mbsync)
 * talk to the real server over TLS, and must see every ingested message byte-exact.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { addAccount } from "../../src/quarantine/accounts.ts";
import { PASSWORD, RELEASE_ROUTED, startTestServer, type TestServer } from "../helpers/server.ts";

const USER = "alice@example.com";
const CRLF = "\r\n";

function crlf(lines: string[]): string {
  return lines.join(CRLF);
}

/** Varied shapes: plain ASCII, multipart/alternative + attachment, 8-bit UTF-8 body, long folded header. */
const RAW: string[] = [
  crlf([
    "From: Spammer <spam@bad.test>",
    `To: ${USER}`,
    "Subject: Plain old spam",
    "Date: Fri, 20 Nov 2026 13:27:30 +0000",
    "Message-ID: <plain.1@bad.test>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "Buy cheap things now.",
    "",
    "Line after a blank line.",
    "",
  ]),
  crlf([
    "From: \"Deals Dept\" <deals@bad.test>",
    `To: Alice <${USER}>`,
    "Subject: Multipart with attachment",
    "Date: Sat, 21 Nov 2026 08:00:00 +0100",
    "Message-ID: <multi.2@bad.test>",
    "MIME-Version: 1.0",
    "Content-Type: multipart/mixed; boundary=\"outer-b\"",
    "",
    "This is a multi-part message in MIME format.",
    "--outer-b",
    "Content-Type: multipart/alternative; boundary=\"alt-b\"",
    "",
    "--alt-b",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "Caf=C3=A9 deals inside.",
    "--alt-b",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: quoted-printable",
    "",
    "<html><body><p>Caf=C3=A9 <b>deals</b> inside.</p></body></html>",
    "--alt-b--",
    "",
    "--outer-b",
    "Content-Type: application/pdf; name=\"invoice.pdf\"",
    "Content-Disposition: attachment; filename=\"invoice.pdf\"",
    "Content-Transfer-Encoding: base64",
    "",
    Buffer.from("%PDF-1.4\n%\xe2\xe3\xcf\xd3\nnot really a pdf\n", "latin1").toString("base64"),
    "--outer-b--",
    "",
  ]),
  crlf([
    "From: =?UTF-8?B?w4lsw6huZQ==?= <elene@bad.test>",
    `To: ${USER}`,
    "Subject: =?UTF-8?Q?8-bit_b=C3=B6dy?=",
    "Date: Sun, 22 Nov 2026 23:59:59 -0800",
    "Message-ID: <eight.3@bad.test>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Grüße aus Köln — ünïcödé bytes straight on the wire: 日本語, emoji 🎉.",
    "",
  ]),
  crlf([
    "From: spam@bad.test",
    `To: ${USER}, someone-else@example.com,`,
    " third@example.com",
    "Subject: A folded subject line that goes on and on and on",
    "\tand continues on a second line",
    "Date: Mon, 23 Nov 2026 01:02:03 +0000",
    "Message-ID: <folded.4@bad.test>",
    "X-Spam-Score: 12.5",
    "",
    ".leading dot line",
    "From not-a-header line",
    "trailing spaces   ",
    "",
  ]),
];

const BYTES: Buffer[] = RAW.map((r) => Buffer.from(r, "utf8"));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const HASHES = new Set(BYTES.map(sha));

let t: TestServer;
/** UID (in Caught) → ingested bytes, learned via imapflow. */
const byUid = new Map<number, Buffer>();

async function run(cmd: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (d: Buffer) => out.push(d));
    p.stderr.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

async function have(cmd: string, args = ["--version"]): Promise<string | null> {
  try {
    const r = await run(cmd, args, { timeoutMs: 10_000 });
    return r.code === 0 ? r.stdout.toString("utf8") + r.stderr : null;
  } catch {
    return null;
  }
}

/**
 * Works around a server-side race (see the report): right after startServer, the background
 * workers/expiry can make the first writes fail with SQLITE_BUSY_SNAPSHOT.
 */
async function busyRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= 5 || !/SQLITE_BUSY/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function flow(): ImapFlow {
  return new ImapFlow({ host: "127.0.0.1", port: t.imaps, secure: true, tls: { rejectUnauthorized: false }, logger: false, auth: { user: USER, pass: PASSWORD } });
}

// Started lazily by the first test rather than in before(): startup currently takes ~10 s
// (see the report), longer than bun's node:test hook timeout, which ignores bunfig's timeout.
let starting: Promise<void> | undefined;
function ready(): Promise<void> {
  starting ??= (async () => {
    t = await startTestServer(RELEASE_ROUTED, []);
    await busyRetry(() => addAccount(t.server.store, { login: USER, password: PASSWORD }));
    for (const raw of RAW) await busyRetry(() => t.ingest([USER], raw));
  })();
  return starting;
}
after(async () => {
  if (starting) await starting.catch(() => {});
  await t?.stop();
});

describe("imapflow", () => {
  test("LIST shows Caught as \\Junk and every folder subscribed", async () => {
    await ready();
    const c = flow();
    await c.connect();
    try {
      const list = await c.list();
      const caught = list.find((m) => m.path === "Caught");
      assert.ok(caught, `Caught in ${list.map((m) => m.path).join(", ")}`);
      assert.equal(caught.specialUse, "\\Junk");
      for (const m of list) assert.equal(m.subscribed, true, `${m.path} subscribed`);
      assert.ok(list.some((m) => m.path === "Release"));
      assert.ok(c.capabilities.has("MOVE"), "MOVE advertised");
    } finally {
      await c.logout();
    }
  });

  test("fetch envelope + source of every message in Caught, byte-exact", async () => {
    await ready();
    const c = flow();
    await c.connect();
    try {
      const box = await c.mailboxOpen("Caught");
      assert.equal(box.exists, RAW.length);
      const seen: Buffer[] = [];
      for await (const m of c.fetch("1:*", { envelope: true, source: true, uid: true })) {
        assert.ok(m.source && m.envelope);
        const match = BYTES.find((b) => b.equals(m.source!));
        assert.ok(match, `UID ${m.uid} source not byte-identical to any ingested message (sha ${sha(m.source!)})`);
        assert.ok(m.envelope.messageId && match.toString("utf8").includes(m.envelope.messageId), "envelope Message-ID");
        byUid.set(m.uid, match);
        seen.push(match);
      }
      assert.equal(new Set(seen).size, RAW.length, "each ingested message exactly once");
      const eight = [...byUid.entries()].find(([, b]) => b === BYTES[2]);
      assert.ok(eight);
      const env = (await c.fetchOne(String(eight[0]), { envelope: true }, { uid: true })) as { envelope: { subject: string; from: { name: string }[] } };
      assert.equal(env.envelope.subject, "8-bit bödy");
      assert.equal(env.envelope.from[0].name, "Élène");
    } finally {
      await c.logout();
    }
  });
});

describe("python imaplib", () => {
  const SCRIPT = `
import os, ssl, imaplib, hashlib, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
host = "127.0.0.1"
user, pw = os.environ["IMAP_USER"], os.environ["IMAP_PASS"]
if os.environ["MODE"] == "ssl":
    M = imaplib.IMAP4_SSL(host, int(os.environ["PORT"]), ssl_context=ctx)
else:
    M = imaplib.IMAP4(host, int(os.environ["PORT"]))
    typ, _ = M.starttls(ssl_context=ctx)
    assert typ == "OK", typ
typ, _ = M.login(user, pw)
assert typ == "OK", typ
typ, data = M.select('"Caught"', readonly=True)
assert typ == "OK", (typ, data)
print("EXISTS", data[0].decode())
typ, data = M.uid("SEARCH", None, "ALL")
assert typ == "OK", (typ, data)
uids = data[0].split()
for uid in uids:
    typ, data = M.uid("FETCH", uid, "(BODY.PEEK[])")
    assert typ == "OK", (typ, data)
    parts = [d for d in data if isinstance(d, tuple)]
    assert len(parts) == 1, data
    print("SHA", uid.decode(), hashlib.sha256(parts[0][1]).hexdigest())
M.logout()
`;

  async function py(mode: "ssl" | "starttls") {
    const r = await run("python3", ["-c", SCRIPT], {
      env: { MODE: mode, PORT: String(mode === "ssl" ? t.imaps : t.imap), IMAP_USER: USER, IMAP_PASS: PASSWORD },
    });
    assert.equal(r.code, 0, `python3 failed: ${r.stderr}`);
    const out = r.stdout.toString("utf8");
    assert.match(out, new RegExp(`^EXISTS ${RAW.length}$`, "m"));
    const digests = [...out.matchAll(/^SHA (\d+) ([0-9a-f]{64})$/gm)].map((m) => m[2]);
    assert.equal(digests.length, RAW.length, out);
    assert.deepEqual(new Set(digests), HASHES);
  }

  test("IMAP4_SSL, unverified context: BODY.PEEK[] sha256 matches what was ingested", { skip: false }, async (c) => {
    await ready();
    if (!(await have("python3"))) return c.skip("python3 not installed");
    await py("ssl");
  });

  test("IMAP4 + STARTTLS + LOGIN", async (c) => {
    await ready();
    if (!(await have("python3"))) return c.skip("python3 not installed");
    await py("starttls");
  });
});

describe("curl", () => {
  test("imaps URL with ;UID= returns the message byte-exact", async (c) => {
    await ready();
    if (!(await have("curl"))) return c.skip("curl not installed");
    assert.ok(byUid.size > 0, "imapflow test learned UIDs");
    for (const [uid, expected] of byUid) {
      const r = await run("curl", ["-s", "--insecure", `imaps://127.0.0.1:${t.imaps}/Caught;UID=${uid}`, "--user", `${USER}:${PASSWORD}`]);
      assert.equal(r.code, 0, `curl exit ${r.code}: ${r.stderr}`);
      assert.ok(r.stdout.equals(expected), `UID ${uid}: got ${r.stdout.length} bytes, want ${expected.length}`);
    }
  });
});

describe("mbsync", () => {
  test("pulls Caught into a Maildir, every file byte-exact", async (c) => {
    await ready();
    const version = await have("mbsync", ["--version"]);
    if (!version) return c.skip("mbsync (isync) not installed");
    const m = /isync (\d+)\.(\d+)/.exec(version);
    const tlsKey = m && (Number(m[1]) > 1 || Number(m[2]) >= 5) ? "TLSType" : "SSLType";
    const dir = mkdtempSync(join(tmpdir(), "quarantined-mbsync-"));
    try {
      const rc = join(dir, "mbsyncrc");
      const maildir = join(dir, "mail");
      mkdirSync(maildir);
      writeFileSync(
        rc,
        [
          "IMAPAccount q",
          "Host localhost",
          `Port ${t.imaps}`,
          `User ${USER}`,
          `Pass ${PASSWORD}`,
          `${tlsKey} IMAPS`,
          `CertificateFile ${join(t.dir, "tls", "cert.pem")}`,
          "",
          "IMAPStore q-remote",
          "Account q",
          "",
          "MaildirStore q-local",
          `Path ${maildir}/`,
          `Inbox ${maildir}/INBOX`,
          "",
          "Channel q",
          "Far :q-remote:Caught",
          "Near :q-local:Caught",
          "Sync Pull",
          "Create Near",
          "",
        ].join("\n"),
      );
      const r = await run("mbsync", ["-c", rc, "-a"], { env: { HOME: dir }, timeoutMs: 60_000 });
      assert.equal(r.code, 0, `mbsync exit ${r.code}: ${r.stderr}${r.stdout}`);
      const box = join(maildir, "Caught");
      const files: string[] = [];
      for (const sub of ["cur", "new"]) {
        const d = join(box, sub);
        if (existsSync(d)) for (const f of readdirSync(d)) files.push(join(d, f));
      }
      assert.equal(files.length, RAW.length, `files: ${files.join(", ")}`);
      // mbsync stores Maildir files with bare LF line endings (its documented local
      // convention), so compare against the ingested bytes with CRLF turned into LF.
      const lf = new Set(BYTES.map((b) => sha(Buffer.from(b.toString("latin1").replace(/\r\n/g, "\n"), "latin1"))));
      const got = new Set<string>();
      for (const f of files) {
        // mbsync inserts its own "X-TUID:" tracking header into the header block; drop it.
        const b = Buffer.from(readFileSync(f).toString("latin1").replace(/^X-TUID: [^\n]*\n/m, ""), "latin1");
        if (!lf.has(sha(b)) && !HASHES.has(sha(b))) {
          const want = BYTES.map((x) => Buffer.from(x.toString("latin1").replace(/\r\n/g, "\n"), "latin1")).find((x) => x.subarray(0, 40).equals(b.subarray(0, 40)));
          let at = 0;
          while (want && at < b.length && b[at] === want[at]) at++;
          assert.fail(`${f} (${b.length} bytes) differs from every ingested message; vs closest (${want?.length} bytes) first difference at ${at}: got ${JSON.stringify(b.subarray(at - 20, at + 40).toString("latin1"))} want ${JSON.stringify(want?.subarray(at - 20, at + 40).toString("latin1"))}`);
        }
        got.add(sha(b));
      }
      assert.equal(got.size, RAW.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("imapflow MOVE (runs last: it removes a message from Caught)", () => {
  test("messageMove to Release queues an outbox row", async () => {
    await ready();
    const c = flow();
    await c.connect();
    try {
      await c.mailboxOpen("Caught");
      const [uid] = [...byUid.keys()];
      assert.ok(uid, "a UID learned earlier");
      const id = (await t.server.store.client.execute({ sql: "SELECT m.id FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE b.sha256 = ?", args: [sha(byUid.get(uid)!)] })).rows[0]?.id;
      const res = await c.messageMove(String(uid), "Release", { uid: true });
      assert.ok(res, "messageMove returned a result");
      const n = await t.server.store.client.execute({ sql: "SELECT count(*) AS n FROM outbox WHERE message_id = ?", args: [id ?? -1] });
      assert.equal(Number(n.rows[0].n), 1);
      const st = await c.status("Caught", { messages: true });
      assert.ok(st, "STATUS answered");
      assert.equal(st.messages, RAW.length - 1);
    } finally {
      await c.logout();
    }
  });
});
