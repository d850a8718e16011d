/** IMAP over real TLS sockets: listeners, TLS policy, scopes, actions, live updates. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import tls from "node:tls";
import { addToken } from "../../src/http/tokens.ts";
import { RawClient } from "../helpers/imap-client.ts";
import { ADMIN_PASSWORD, message, PASSWORD, RELEASE_ROUTED, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
let alice: number[];
let bob: number[];
let carol: number[];

async function login(user: string, pass = PASSWORD): Promise<RawClient> {
  const c = await RawClient.connect(t.imaps, true);
  const r = await c.cmd("L", `LOGIN ${user} ${pass}`);
  assert.match(r, /^L OK/m);
  return c;
}

async function count(sql: string, ...args: (string | number)[]): Promise<number> {
  const r = await t.server.store.client.execute({ sql, args });
  return Number(r.rows[0].n);
}

before(async () => {
  t = await startTestServer(RELEASE_ROUTED, ["alice@example.com", "bob@example.com", "example.com", "carol@other.org"]);
  alice = await t.ingest(["alice@example.com"], message("For Alice"));
  bob = await t.ingest(["bob@example.com"], message("For Bob", "bob@example.com"));
  carol = await t.ingest(["carol@other.org"], message("For Carol", "carol@other.org"));
});
after(async () => t.stop());

describe("listeners and TLS", () => {
  test("implicit TLS greets and offers AUTH=PLAIN", async () => {
    const c = await RawClient.connect(t.imaps, true);
    const r = await c.cmd("a", "CAPABILITY");
    assert.match(r, /AUTH=PLAIN/);
    assert.doesNotMatch(r, /LOGINDISABLED/);
    c.close();
  });

  test("TLS 1.1 is refused", async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: t.imaps, rejectUnauthorized: false, minVersion: "TLSv1", maxVersion: "TLSv1.1" }, () => resolve(s));
        s.once("error", reject);
      }),
    );
  });

  test("before STARTTLS: LOGINDISABLED, LOGIN and AUTHENTICATE refused with PRIVACYREQUIRED", async () => {
    const c = await RawClient.connect(t.imap, false);
    const cap = await c.cmd("a", "CAPABILITY");
    assert.match(cap, /STARTTLS/);
    assert.match(cap, /LOGINDISABLED/);
    assert.doesNotMatch(cap, /AUTH=PLAIN/);
    assert.match(await c.cmd("b", `LOGIN admin ${ADMIN_PASSWORD}`), /^b NO \[PRIVACYREQUIRED\]/m);
    assert.match(await c.cmd("c", "AUTHENTICATE PLAIN AGFkbWluAGFkbWlucGFzczE="), /^c NO \[PRIVACYREQUIRED\]/m);
    // an unknown command is quoted briefly and printably, never echoed whole
    const unknown = await c.cmd("d", `X${"\u00e9".repeat(10)}${"A".repeat(300)}`);
    assert.match(unknown, /^d BAD Unknown command X\?{10}A{53}\.\.\.\r?$/m);
    c.close();
  });

  test("STARTTLS upgrades, and bytes pipelined after it are discarded", async () => {
    const c = await RawClient.connect(t.imap, false);
    c.write(`a STARTTLS\r\nb LOGIN admin ${ADMIN_PASSWORD}\r\n`);
    await c.waitFor(/^a OK[^\r]*\r\n/m);
    await c.starttls();
    const cap = await c.cmd("c", "CAPABILITY");
    assert.doesNotMatch(cap, /^b /m, "the pipelined LOGIN must not run inside TLS");
    assert.match(cap, /AUTH=PLAIN/);
    assert.match(await c.cmd("d", "SELECT Caught"), /^d NO|^d BAD/m, "still not logged in");
    assert.match(await c.cmd("e", `LOGIN admin ${ADMIN_PASSWORD}`), /^e OK/m);
    c.close();
  });

  test("AUTHENTICATE PLAIN with SASL-IR and with a continuation", async () => {
    const c = await RawClient.connect(t.imaps, true);
    const ir = Buffer.from(`\0alice@example.com\0${PASSWORD}`).toString("base64");
    assert.match(await c.cmd("a", `AUTHENTICATE PLAIN ${ir}`), /^a OK/m);
    c.close();
    const d = await RawClient.connect(t.imaps, true);
    d.write("b AUTHENTICATE PLAIN\r\n");
    await d.waitFor(/^\+ ?\r\n/m);
    d.write(`${ir}\r\n`);
    assert.match(await d.waitFor(/^b (OK|NO)[^\r]*\r\n/m), /^b OK/m);
    d.close();
  });

  test("a SASL response over the line limit ends AUTHENTICATE with a tagged BAD; the next line is a command", async () => {
    for (const pieces of [[`${"A".repeat(20_000)}\r\n`], ["A".repeat(9000), `${"A".repeat(9000)}\r\n`], [`${"A".repeat(20_000)} {5+}\r\n`]]) {
      const c = await RawClient.connect(t.imaps, true);
      c.write("a1 AUTHENTICATE PLAIN\r\n");
      await c.waitFor(/^\+ ?\r\n/m);
      for (const p of pieces) {
        c.write(p);
        await new Promise((r) => setTimeout(r, 20));
      }
      c.write("a2 NOOP\r\n");
      const r = await c.waitFor(/^a2 [^\r]*\r\n/m);
      assert.match(r, /^a1 BAD \[TOOBIG\][^\r]*\r\na2 OK NOOP/m);
      assert.doesNotMatch(r, /^\* BAD/m);
      const ir = Buffer.from(`\0alice@example.com\0${PASSWORD}`).toString("base64");
      assert.match(await c.cmd("a3", `AUTHENTICATE PLAIN ${ir}`), /^a3 OK/m, "and the session can still log in");
      c.close();
    }
  });

  test("a wrong password answers AUTHENTICATIONFAILED and is audited", async () => {
    const c = await RawClient.connect(t.imaps, true);
    assert.match(await c.cmd("a", "LOGIN alice@example.com wrongpass"), /^a NO \[AUTHENTICATIONFAILED\]/m);
    c.close();
    assert.ok((await count("SELECT count(*) AS n FROM audit WHERE action = 'login.fail'")) >= 1);
  });
});

describe("scopes", () => {
  test("user, domain and admin each see exactly their scope", async () => {
    const cases: [string, string, number[]][] = [
      ["alice@example.com", PASSWORD, alice],
      ["example.com", PASSWORD, [...alice, ...bob]],
      ["admin", ADMIN_PASSWORD, [...alice, ...bob, ...carol]],
    ];
    for (const [user, pass, uids] of cases) {
      const c = await login(user, pass);
      const sel = await c.cmd("s", "EXAMINE Caught");
      assert.match(sel, new RegExp(`\\* ${uids.length} EXISTS`), user);
      const search = await c.cmd("q", "UID SEARCH ALL");
      assert.match(search, new RegExp(`\\* SEARCH ${uids.join(" ")}\\r\\n`), user);
      c.close();
    }
  });

  test("another tenant's UID behaves as if it did not exist", async () => {
    const c = await login("alice@example.com");
    await c.cmd("s", "SELECT Caught");
    const f = await c.cmd("f", `UID FETCH ${bob[0]} (UID FLAGS)`);
    assert.doesNotMatch(f, /\* \d+ FETCH/);
    assert.match(f, /^f OK/m);
    assert.doesNotMatch(await c.cmd("g", `UID STORE ${bob[0]} +FLAGS (\\Seen)`), /\* \d+ FETCH/);
    assert.match(await c.cmd("h", `UID MOVE ${bob[0]} Release`), /^h OK/m);
    assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE message_id = ?", bob[0]), 0);
    assert.match(await c.cmd("i", `UID SEARCH UID ${bob[0]}`), /\* SEARCH\r\n/);
    assert.match(await c.cmd("j", "STATUS Caught (MESSAGES)"), /MESSAGES 1\)/);
    c.close();
  });
});

describe("actions", () => {
  test("Outlook-style COPY + STORE \\Deleted + EXPUNGE releases exactly once", async () => {
    const [uid] = await t.ingest(["alice@example.com"], message("Outlook release"));
    const c = await login("alice@example.com");
    await c.cmd("s", "SELECT Caught");
    const copy = await c.cmd("c", `UID COPY ${uid} Release`);
    assert.match(copy, new RegExp(`COPYUID \\d+ ${uid} ${uid}`));
    await c.cmd("d", `UID STORE ${uid} +FLAGS (\\Deleted)`);
    assert.match(await c.cmd("e", "EXPUNGE"), /^e OK/m);
    assert.match(await c.cmd("f", `UID COPY ${uid} Release`), /^f OK/m, "COPY of a UID already gone answers OK");
    assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE message_id = ?", uid), 1);
    assert.equal(await count("SELECT count(*) AS n FROM audit WHERE action = 'release' AND message_id = ?", uid), 1);
    c.close();
  });

  test("UID MOVE to Release and Train releases once and queues a ham report", async () => {
    const [uid] = await t.ingest(["alice@example.com"], message("Thunderbird release"));
    const c = await login("alice@example.com");
    await c.cmd("s", "SELECT Caught");
    const r = await c.cmd("m", `UID MOVE ${uid} "Release and Train"`);
    assert.match(r, /\* OK \[COPYUID/);
    assert.match(r, /\* \d+ EXPUNGE/);
    assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE message_id = ?", uid), 1);
    assert.equal(await count("SELECT count(*) AS n FROM training_reports WHERE message_id = ? AND kind = 'ham'", uid), 1);
    c.close();
  });

  test("APPEND to Spam records a report; APPEND to Release is refused", async () => {
    const c = await login("alice@example.com");
    const msg = message("Missed spam");
    const before = await count("SELECT count(*) AS n FROM training_reports WHERE kind = 'spam'");
    c.write(`a APPEND Spam {${Buffer.byteLength(msg)}+}\r\n${msg}\r\n`);
    assert.match(await c.waitFor(/^a (OK|NO|BAD)[^\r]*\r\n/m), /^a OK/m);
    assert.equal(await count("SELECT count(*) AS n FROM training_reports WHERE kind = 'spam'"), before + 1);
    c.write(`b APPEND Release {${Buffer.byteLength(msg)}+}\r\n${msg}\r\n`);
    assert.match(await c.waitFor(/^b (OK|NO|BAD)[^\r]*\r\n/m), /^b NO \[CANNOT\]/m);
    c.close();
  });

  test("CREATE, DELETE and RENAME answer NO [CANNOT]; every folder is selectable", async () => {
    const c = await login("alice@example.com");
    assert.match(await c.cmd("a", "CREATE Foo"), /^a NO \[CANNOT\]/m);
    for (const f of ["INBOX", "Release", '"Release and Train"', '"Not Spam"', '"Release and Train/Not Spam"', "Spam", "Trash"]) {
      const r = await c.cmd("s", `SELECT ${f}`);
      assert.match(r, /\* 0 EXISTS/, f);
      assert.match(r, /UIDVALIDITY \d+/, f);
    }
    c.close();
  });
});

describe("release without anywhere to deliver", () => {
  test("no smarthost and no domain route: MOVE to Release is refused with [UNAVAILABLE], the message stays in Caught; the API answers 409; a route makes it work", async () => {
    const bare = await startTestServer({}, ["dora@example.net"]);
    try {
      const [uid] = await bare.ingest(["dora@example.net"], message("Nowhere to go", "dora@example.net"));
      const c = await RawClient.connect(bare.imaps, true);
      assert.match(await c.cmd("L", `LOGIN dora@example.net ${PASSWORD}`), /^L OK/m);
      await c.cmd("s", "SELECT Caught");
      const r = await c.cmd("m", `UID MOVE ${uid} Release`);
      assert.match(r, /^m NO \[UNAVAILABLE\] Release is not set up for example\.net: no delivery route and no smarthost/m);
      assert.doesNotMatch(r, /EXPUNGE/);
      assert.match(await c.cmd("f", `UID FETCH ${uid} FLAGS`), new RegExp(`UID ${uid}`), "still in Caught");
      const state = await bare.server.store.client.execute({ sql: "SELECT state FROM messages WHERE id = ?", args: [uid] });
      assert.equal(state.rows[0].state, "caught");
      const outbox = await bare.server.store.client.execute("SELECT count(*) AS n FROM outbox");
      assert.equal(Number(outbox.rows[0].n), 0);

      const { token } = await addToken(bare.server.store, "ops", "admin");
      const api = await fetch(`http://127.0.0.1:${bare.http}/api/v1/messages/${uid}/release`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
      assert.equal(api.status, 409);
      assert.match(((await api.json()) as { detail: string }).detail, /no delivery route and no smarthost/);

      await bare.server.store.client.execute({ sql: "INSERT INTO domains (name, route, created_at) VALUES ('example.net', '127.0.0.1:9', ?) ON CONFLICT(name) DO UPDATE SET route = excluded.route", args: [Date.now()] });
      assert.match(await c.cmd("n", `UID MOVE ${uid} Release`), /^n OK/m);
      c.close();
    } finally {
      await bare.stop();
    }
  });
});

describe("live updates", () => {
  test("IDLE sees EXPUNGE and EXISTS from another session within 2 s", async () => {
    const [uid] = await t.ingest(["bob@example.com"], message("Live", "bob@example.com"));
    const a = await login("example.com");
    await a.cmd("s", "SELECT Caught");
    a.write("i IDLE\r\n");
    await a.waitFor(/^\+ [^\r]*\r\n/m);
    const b = await login("bob@example.com");
    await b.cmd("s", "SELECT Caught");
    await b.cmd("m", `UID MOVE ${uid} Trash`);
    const started = Date.now();
    await a.waitFor(/\* \d+ EXPUNGE\r\n/, 2500);
    assert.ok(Date.now() - started < 2000);
    await t.ingest(["bob@example.com"], message("Arrives", "bob@example.com"));
    await a.waitFor(/\* \d+ EXISTS\r\n/, 2500);
    a.write("DONE\r\n");
    await a.waitFor(/^i OK[^\r]*\r\n/m);
    a.close();
    b.close();
  });

  test("IDLE accepts DONE and further commands in the same packet", async () => {
    const a = await login("alice@example.com");
    await a.cmd("s", "SELECT Caught");
    a.write("i IDLE\r\n");
    await a.waitFor(/^\+ [^\r]*\r\n/m);
    a.write("DONE\r\nn NOOP\r\nm UID SEARCH ALL\r\n");
    await a.waitFor(/^i OK[^\r]*\r\n/m);
    await a.waitFor(/^n OK[^\r]*\r\n/m);
    await a.waitFor(/^m OK[^\r]*\r\n/m);
    a.close();
  });

  test("a message ingested by another process shows as EXISTS during IDLE", async () => {
    const a = await login("alice@example.com");
    await a.cmd("s", "SELECT Caught");
    a.write("i IDLE\r\n");
    await a.waitFor(/^\+ [^\r]*\r\n/m);
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, ["src/main.ts", "ingest", "--rcpt", "alice@example.com", "--data-dir", t.dir, "-"], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end(message("From another process"));
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0);
    await a.waitFor(/\* \d+ EXISTS\r\n/, 2500);
    a.write("DONE\r\n");
    await a.waitFor(/^i OK[^\r]*\r\n/m);
    a.close();
  });
});

describe("CONDSTORE / QRESYNC", () => {
  test("UID FETCH (CHANGEDSINCE n VANISHED) reports removed UIDs and changed flags", async () => {
    const [a, b] = [await t.ingest(["alice@example.com"], message("Q1")), await t.ingest(["alice@example.com"], message("Q2"))].map((x) => x[0]);
    const c = await login("alice@example.com");
    await c.cmd("e", "ENABLE QRESYNC");
    const sel = await c.cmd("s", "SELECT Caught");
    const modseq = Number(sel.match(/HIGHESTMODSEQ (\d+)/)![1]);
    const other = await login("alice@example.com");
    await other.cmd("s", "SELECT Caught");
    await other.cmd("m", `UID MOVE ${a} Trash`);
    await other.cmd("f", `UID STORE ${b} +FLAGS (\\Flagged)`);
    other.close();
    // the session hears of the move at its next command...
    assert.match(await c.cmd("n", "NOOP"), new RegExp(`\\* VANISHED ${a}\r\n`));
    // ...and a resync from the old MODSEQ reports it as VANISHED (EARLIER)
    const r = await c.cmd("q", `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${modseq} VANISHED)`);
    assert.match(r, new RegExp(`\\* VANISHED \\(EARLIER\\) ${a}\\r\\n`));
    assert.match(r, new RegExp(`UID ${b} FLAGS \\(\\\\Flagged\\) MODSEQ \\(\\d+\\)`));
    c.close();
  });
});

describe("STORE responses (RFC 3501 §6.4.6, RFC 7162 §3.1.3)", () => {
  const fetches = (r: string) => r.match(/^\* \d+ FETCH [^\r]*\r\n/gm) ?? [];
  /** A fresh message for alice and a session with Caught selected; seq is its sequence number. */
  async function fresh(subject: string): Promise<{ c: RawClient; uid: number; seq: number }> {
    const [uid] = await t.ingest(["alice@example.com"], message(subject));
    const c = await login("alice@example.com");
    await c.cmd("s", "SELECT Caught");
    const seq = Number((await c.cmd("f", `UID FETCH ${uid} (UID)`)).match(/^\* (\d+) FETCH/m)![1]);
    return { c, uid, seq };
  }

  test("STORE answers one FETCH per message with its new flags, and the next NOOP adds none", async () => {
    const { c, seq } = await fresh("Store once");
    const r = await c.cmd("a", `STORE ${seq} +FLAGS (\\Flagged)`);
    assert.deepEqual(fetches(r), [`* ${seq} FETCH (FLAGS (\\Flagged))\r\n`]);
    assert.match(r, /^a OK/m);
    assert.deepEqual(fetches(await c.cmd("n", "NOOP")), []);
    c.close();
  });

  test("UID STORE answers one FETCH with the UID", async () => {
    const { c, uid, seq } = await fresh("UID store once");
    const r = await c.cmd("a", `UID STORE ${uid} +FLAGS (\\Seen \\Answered)`);
    assert.deepEqual(fetches(r), [`* ${seq} FETCH (UID ${uid} FLAGS (\\Seen \\Answered))\r\n`]);
    const r2 = await c.cmd("b", `UID STORE ${uid} -FLAGS (\\Answered)`);
    assert.deepEqual(fetches(r2), [`* ${seq} FETCH (UID ${uid} FLAGS (\\Seen))\r\n`]);
    assert.deepEqual(fetches(await c.cmd("n", "NOOP")), []);
    c.close();
  });

  test("+FLAGS.SILENT sends no FETCH; under CONDSTORE only the new MODSEQ of changed messages", async () => {
    const { c, uid, seq } = await fresh("Silent store");
    assert.deepEqual(fetches(await c.cmd("a", `STORE ${seq} +FLAGS.SILENT (\\Answered)`)), []);
    assert.deepEqual(fetches(await c.cmd("b", `UID STORE ${uid} FLAGS.SILENT (\\Seen)`)), []);
    assert.deepEqual(fetches(await c.cmd("n", "NOOP")), []);
    assert.match(await c.cmd("g", `UID FETCH ${uid} (FLAGS)`), /FLAGS \(\\Seen\)/, "the silent stores did happen");
    await c.cmd("e", "ENABLE CONDSTORE");
    const r = await c.cmd("c", `UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`);
    assert.equal(fetches(r).length, 1, r);
    assert.match(fetches(r).join(""), new RegExp(`^\\* ${seq} FETCH \\(UID ${uid} MODSEQ \\(\\d+\\)\\)\r\n$`));
    assert.deepEqual(fetches(await c.cmd("d", `UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`)), [], "nothing changed, nothing to report");
    const loud = await c.cmd("h", `STORE ${seq} -FLAGS (\\Flagged)`);
    assert.equal(fetches(loud).length, 1);
    assert.match(fetches(loud).join(""), new RegExp(`^\\* ${seq} FETCH \\(FLAGS \\(\\\\Seen\\) MODSEQ \\(\\d+\\)\\)`));
    assert.deepEqual(fetches(await c.cmd("n", "NOOP")), []);
    c.close();
  });

  test("another session of the same account sees the change once, at its next NOOP", async () => {
    const { c, uid, seq } = await fresh("Seen elsewhere");
    const other = await login("alice@example.com");
    await other.cmd("s", "SELECT Caught");
    assert.deepEqual(fetches(await c.cmd("a", `UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`)), []);
    assert.deepEqual(fetches(await other.cmd("n", "NOOP")), [`* ${seq} FETCH (UID ${uid} FLAGS (\\Flagged))\r\n`]);
    assert.deepEqual(fetches(await other.cmd("m", "NOOP")), []);
    // and the other way round, with a STORE that answers with FLAGS
    assert.equal(fetches(await other.cmd("b", `STORE ${seq} +FLAGS (\\Seen)`)).length, 1);
    assert.deepEqual(fetches(await c.cmd("o", "NOOP")), [`* ${seq} FETCH (UID ${uid} FLAGS (\\Seen \\Flagged))\r\n`]);
    assert.deepEqual(fetches(await other.cmd("p", "NOOP")), []);
    c.close();
    other.close();
  });

  test("keywords: at most 64 a message, 128 characters each; past that NO [LIMIT] and nothing changes", async () => {
    const { c, uid } = await fresh("Many keywords");
    const [other] = await t.ingest(["alice@example.com"], message("Few keywords"));
    assert.match(await c.cmd("s", "SELECT Caught"), /PERMANENTFLAGS \([^)]*\\\*\)\] Flags permitted; at most 64 keywords a message/);
    const kws = (from: number, n: number) => Array.from({ length: n }, (_, i) => `K${from + i}`).join(" ");
    assert.match(await c.cmd("a", `UID STORE ${uid} +FLAGS.SILENT (${kws(0, 60)})`), /^a OK/m);
    assert.match(await c.cmd("b", `UID STORE ${uid} +FLAGS.SILENT (${kws(55, 9)} k0 K1)`), /^b OK/m, "64 distinct, case-insensitively");
    assert.match(await c.cmd("c", `UID STORE ${other},${uid} +FLAGS.SILENT (Extra \\Seen)`), /^c NO \[LIMIT\] A message can have at most 64 keywords/m);
    const flags = (await c.cmd("f", `UID FETCH ${other},${uid} (FLAGS)`)).match(/FLAGS \([^)]*\)/g)!;
    assert.equal(flags.length, 2);
    assert.ok(flags.every((f) => !/Extra|\\Seen/.test(f)), `the other message was not changed either: ${flags}`);
    assert.equal(flags.find((f) => f.includes("K0"))!.match(/K\d+/g)!.length, 64);
    assert.match(await c.cmd("g", `UID STORE ${uid} +FLAGS.SILENT (K3 \\Seen)`), /^g OK/m, "keywords it already has, and system flags");
    assert.match(await c.cmd("h", `UID STORE ${other} FLAGS (${kws(100, 65)})`), /^h NO \[LIMIT\]/m);
    assert.match(await c.cmd("i", `UID STORE ${other} +FLAGS (${"x".repeat(129)})`), /^i NO \[LIMIT\] Keywords are limited to 128 characters/m);
    assert.match(await c.cmd("j", `UID STORE ${other} +FLAGS (${"x".repeat(128)})`), /^j OK/m);
    assert.match(await c.cmd("k", `UID STORE ${uid} -FLAGS.SILENT (K0 K1)`), /^k OK/m);
    assert.match(await c.cmd("l", `UID STORE ${uid} +FLAGS.SILENT (Extra)`), /^l OK/m, "room again after removing some");
    c.close();
  });

  test("a FETCH that sets \\Seen reports the flags once", async () => {
    const { c, uid, seq } = await fresh("Fetch sets seen");
    const r = await c.cmd("a", `UID FETCH ${uid} (BODY[TEXT])`);
    // the body literal ends the first line, so count where FETCH responses start
    assert.equal(r.match(/^\* \d+ FETCH /gm)?.length, 1, r);
    assert.match(r, new RegExp(`^\\* ${seq} FETCH \\(UID ${uid} BODY\\[TEXT\\] \\{\\d+\\}\\r\\n[^]*FLAGS \\(\\\\Seen\\)\\)`, "m"));
    assert.deepEqual(fetches(await c.cmd("n", "NOOP")), []);
    c.close();
  });
});
