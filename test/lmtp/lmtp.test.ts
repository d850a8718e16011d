/**
 * LMTP ingest: swaks (a real LMTP client) with good and unknown recipients, the size limit,
 * the verdict headers, and concurrent deliveries sharing transactions (group commit).
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import nodemailer from "nodemailer";
import { parseVerdictValue, verdictFromHeaders } from "../../src/lmtp/classify.ts";
import { startLmtp } from "../../src/lmtp/server.ts";
import { SearchFactCache } from "../../src/imap/search/cache.ts";
import { WordIndexer } from "../../src/quarantine/word-index.ts";
import { decodeListing, decodeMessage, isPlainContainer } from "../../src/storage/codec.ts";
import { onLines } from "../helpers/lines.ts";
import { addDomain, rows, run, sampleMessage, tempStore, testConfig, waitFor, which } from "../delivery/harness.ts";

describe("verdict headers", () => {
  test("X-Spamd-Result (rspamd)", () => {
    const v = parseVerdictValue("default: True [12.34 / 15.00]; BAYES_SPAM(5.10)[99.99%]; R_SPF_FAIL(1.00)[-all]; MIME_GOOD(-0.10)[text/plain]");
    assert.equal(v.score, 12.34);
    assert.deepEqual(v.symbols, ["BAYES_SPAM", "R_SPF_FAIL", "MIME_GOOD"]);
  });
  test("X-Spam-Status (SpamAssassin), folded", () => {
    const raw = new TextEncoder().encode("X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,\r\n\tURIBL_BLACK autolearn=no\r\n  autolearn_force=no version=3.4.6\r\nSubject: x\r\n\r\nbody\r\n");
    const v = verdictFromHeaders(raw, ["X-Spam-Score", "X-Spamd-Result", "X-Spam-Status"]);
    assert.equal(v.score, 7.1);
    assert.equal(v.reason, "BAYES_99, URIBL_BLACK");
  });
  test("X-Spam-Score number; configured order decides; body is never read", () => {
    const raw = new TextEncoder().encode("X-Spam-Score: 9.5 (+++++++++)\r\nX-Spamd-Result: default: True [3.00 / 15.00]; FOO(3.0)\r\n\r\nX-Spam-Score: 100\r\n");
    assert.deepEqual(verdictFromHeaders(raw, ["X-Spam-Score", "X-Spamd-Result"]), { score: 9.5, reason: "FOO" });
    assert.deepEqual(verdictFromHeaders(raw, ["X-Spamd-Result", "X-Spam-Score"]), { score: 3, reason: "FOO" });
    assert.deepEqual(verdictFromHeaders(raw, ["X-Other"]), { score: null, reason: "" });
    assert.equal(parseVerdictValue("-2.5").score, -2.5);
  });
});

const swaksSkip = (await which("swaks")) ? false : "swaks is not installed (apt-get install -y swaks)";
if (swaksSkip) console.log(`swaks test skipped: ${swaksSkip}`);

/** `n` sample messages over `connections` pooled LMTP connections to u0..u{users-1}@example.com; each must get 250. */
async function deliverConcurrently(port: number, n: number, connections: number, users: number): Promise<void> {
  const tr = nodemailer.createTransport({ host: "127.0.0.1", port, lmtp: true, ignoreTLS: true, pool: true, maxConnections: connections } as never);
  try {
    const infos = await Promise.all(
      Array.from({ length: n }, (_, i) => tr.sendMail({ envelope: { from: "s@bad.example", to: [`u${i % users}@example.com`] }, raw: Buffer.from(sampleMessage()) })),
    );
    for (const info of infos) assert.match(String(info.response), /^250 /);
  } finally {
    tr.close();
  }
}

describe("LMTP listener", () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function setup(lmtp: Record<string, unknown> = {}) {
    const t = await tempStore();
    await addDomain(t.store, "example.com");
    const config = testConfig({ dataDir: t.dir, lmtp: { enabled: true, ...lmtp } });
    const srv = await startLmtp({ store: t.store, config, host: "127.0.0.1", port: 0 });
    cleanups.push(() => t.cleanup(), () => srv.stop());
    return { t, srv, config };
  }

  test("swaks --protocol LMTP: two known recipients 250, an unknown domain 550; rows exist right after", { skip: swaksSkip }, async () => {
    const { t, srv } = await setup();
    const r = await run("swaks", [
      "--protocol", "LMTP", "--server", `127.0.0.1:${srv.port}`,
      "--from", "spammer@bad.example",
      "--to", "alice@example.com,bob@example.com,nobody@unknown.tld",
      "--header", "Subject: swaks test", "--header", "X-Spamd-Result: default: True [11.50 / 15.00]; BAYES_SPAM(5.10); DBL_SPAM(6.40)",
      "--body", "buy now",
    ]);
    // Final reply lines in order: greeting, LHLO, MAIL, 3 × RCPT, DATA 354, one per accepted RCPT, QUIT.
    const replies = r.stdout.split("\n").map((l) => /^<(?:-|\*\*|~)\s+(\d{3} .*)$/.exec(l)?.[1]).filter((l): l is string => !!l);
    const codes = replies.map((l) => Number(l.slice(0, 3)));
    assert.deepEqual(codes.slice(3, 6), [250, 250, 550], r.stdout);
    assert.match(replies[5], /^550 5\.1\.1 <nobody@unknown\.tld>/);
    assert.equal(codes[6], 354);
    const dataReplies = replies.slice(7, 9);
    assert.deepEqual(dataReplies.map((l) => l.slice(0, 3)), ["250", "250"], r.stdout);
    assert.equal(codes[9], 221);
    const got = await rows<{ id: number; recipient: string; state: string; score: number; reason: string; sender: string }>(t.store, "SELECT id, recipient, state, score, reason, sender FROM messages ORDER BY id");
    assert.deepEqual(got.map((g) => [g.recipient, g.state]), [["alice@example.com", "caught"], ["bob@example.com", "caught"]]);
    assert.equal(got[0].score, 11.5);
    assert.equal(got[0].reason, "BAYES_SPAM, DBL_SPAM");
    assert.equal(got[0].sender, "spammer@bad.example");
    for (const g of got) assert.ok(dataReplies.some((l) => l.includes(`<${g.recipient}> quarantined as ${g.id}`)), `reply names row ${g.id}`);
    const ch = await rows(t.store, "SELECT * FROM changes WHERE kind = 'add'");
    assert.equal(ch.length, 2);
    const [au] = await rows<{ actor: string; client_addr: string }>(t.store, "SELECT actor, client_addr FROM audit WHERE action = 'ingest' LIMIT 1");
    assert.equal(au.actor, "lmtp");
    assert.equal(au.client_addr, "127.0.0.1");
  });

  test("unknown recipients accepted by config; outgoing direction", async () => {
    const { t, srv } = await setup({ unknownRecipients: "accept", direction: "outgoing" });
    const tr = nodemailer.createTransport({ host: "127.0.0.1", port: srv.port, lmtp: true, ignoreTLS: true } as never);
    await tr.sendMail({ envelope: { from: "a@b.example", to: ["someone@unknown.tld"] }, raw: Buffer.from(sampleMessage()) });
    tr.close();
    const got = await rows<{ recipient: string; direction: string }>(t.store, "SELECT recipient, direction FROM messages");
    assert.deepEqual(got.map((g) => [g.recipient, g.direction]), [["someone@unknown.tld", "out"]]);
  });

  test("an address is known through a user account, a domain account or an alias", async () => {
    const { t, srv } = await setup();
    const now = Date.now();
    await t.store.client.execute({ sql: "INSERT INTO accounts (kind, login, password_hash, created_at, password_changed_at) VALUES ('user', 'carol@other.example', 'x', ?, ?)", args: [now, now] });
    await t.store.client.execute({ sql: "INSERT INTO accounts (kind, login, password_hash, created_at, password_changed_at) VALUES ('domain', 'third.example', 'x', ?, ?)", args: [now, now] });
    await t.store.client.execute({ sql: "INSERT INTO aliases (address, account_id) VALUES ('c.alias@fourth.example', 1)" });
    const r = await rawLmtp(srv.port, ["LHLO t", "MAIL FROM:<>", "RCPT TO:<carol@other.example>", "RCPT TO:<dave@other.example>", "RCPT TO:<x@third.example>", "RCPT TO:<c.alias@fourth.example>", "QUIT"]);
    const codes = r.filter((l) => /^\d{3} /.test(l)).map((l) => l.slice(0, 3));
    assert.deepEqual(codes.slice(3, 7), ["250", "550", "250", "250"], r.join("\n"));
  });

  test("a message over lmtp.maxMessageBytes gets 552 for every recipient and is not stored", async () => {
    const { t, srv } = await setup({ maxMessageBytes: 2048 });
    const big = "x".repeat(70) + "\r\n";
    const replies = await rawLmtp(srv.port, [
      "LHLO test",
      "MAIL FROM:<a@b.example>",
      "RCPT TO:<alice@example.com>",
      "RCPT TO:<bob@example.com>",
      "DATA",
      `Subject: big\r\n\r\n${big.repeat(100)}.`,
      "QUIT",
    ]);
    const data = replies.filter((l) => /^552 /.test(l));
    assert.equal(data.length, 2, replies.join("\n"));
    assert.equal((await rows(t.store, "SELECT id FROM messages")).length, 0);
    // SIZE is advertised, and a declared size over it is refused at MAIL.
    const r2 = await rawLmtp(srv.port, ["LHLO test", "MAIL FROM:<a@b.example> SIZE=999999", "QUIT"]);
    assert.ok(r2.some((l) => /^250[ -]SIZE 2048/.test(l)), r2.join("\n"));
    assert.ok(r2.some((l) => /^552 /.test(l)), r2.join("\n"));
  });

  test("concurrent deliveries are group-committed; every 250 is durable", async () => {
    const { t, srv } = await setup({ groupCommitMs: 5 });
    const n = 80;
    await deliverConcurrently(srv.port, n, 8, 5);
    // Everything acknowledged is in the database, read on a separate connection.
    assert.equal((await rows(t.store, "SELECT id FROM messages WHERE state = 'caught'")).length, n);
    assert.ok(srv.stats.commits < n, `group commit: ${srv.stats.commits} transactions for ${n} messages`);
  });

  test("a client that drops mid-DATA stores nothing, and the next delivery commits at once", async () => {
    const { t, srv } = await setup();
    await new Promise<void>((resolve, reject) => {
      const s = connect(srv.port, "127.0.0.1");
      let buf = "";
      const script = ["LHLO x", "MAIL FROM:<s@bad.example>", "RCPT TO:<u@example.com>", "DATA"];
      s.on("data", (d) => {
        buf += d.toString("latin1");
        if (!/\r\n$/.test(buf)) return;
        if (buf.startsWith("354")) {
          s.write("Subject: half a message\r\n\r\nthe rest never comes");
          setTimeout(() => s.destroy(), 50);
          return resolve();
        }
        buf = "";
        const line = script.shift();
        if (line) s.write(line + "\r\n");
      });
      s.on("error", reject);
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal((await rows(t.store, "SELECT id FROM messages")).length, 0);
    // Nothing is left counted as under way: the next commit does not wait for the dropped one.
    const tr = nodemailer.createTransport({ host: "127.0.0.1", port: srv.port, lmtp: true, ignoreTLS: true } as never);
    const started = performance.now();
    const info = await tr.sendMail({ envelope: { from: "s@bad.example", to: ["u@example.com"] }, raw: Buffer.from(sampleMessage()) });
    tr.close();
    assert.match(String(info.response), /^250 /);
    assert.ok(performance.now() - started < 1000);
    assert.equal((await rows(t.store, "SELECT id FROM messages")).length, 1);
  });

  test("at 16 connections commits run on the writer thread; every 250 is durable", async () => {
    const { t, srv } = await setup();
    const n = 160;
    await deliverConcurrently(srv.port, n, 16, 7);
    assert.equal((await rows(t.store, "SELECT id FROM messages WHERE state = 'caught'")).length, n);
    assert.ok(srv.stats.threadCommits > 0, `writer thread used: ${srv.stats.threadCommits} of ${srv.stats.commits} commits`);
    // ids are unique and UID marks cover them, whichever thread wrote them
    const ids = (await rows<{ id: number }>(t.store, "SELECT id FROM messages")).map((r) => Number(r.id));
    assert.equal(new Set(ids).size, n);
    const [mark] = await rows<{ m: number }>(t.store, "SELECT max(uid_next) AS m FROM uid_marks");
    assert.equal(Number(mark.m), Math.max(...ids) + 1);
  });
});

describe("LMTP and the word index", () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const deliverRaw = async (port: number, raw: Buffer, to = "alice@example.com") => {
    const tr = nodemailer.createTransport({ host: "127.0.0.1", port, lmtp: true, ignoreTLS: true } as never);
    const info = await tr.sendMail({ envelope: { from: "s@bad.example", to: [to] }, raw });
    tr.close();
    return Number(/quarantined as (\d+)/.exec(String(info.response))![1]);
  };
  const deliver = (port: number, body: string, to = "alice@example.com") => deliverRaw(port, Buffer.from(sampleMessage({ body })), to);

  test("a delivery is queued for the word index; SEARCH TEXT catches up first and finds it", async () => {
    const t = await tempStore();
    await addDomain(t.store, "example.com");
    const words = new WordIndexer(t.store); // not started: only the search catches up
    const config = testConfig({ dataDir: t.dir, lmtp: { enabled: true } });
    const srv = await startLmtp({ store: t.store, config, host: "127.0.0.1", port: 0, words });
    cleanups.push(() => t.cleanup(), () => words.stop(), () => srv.stop());
    const id = await deliver(srv.port, "the zebracorn stampede");
    const [{ blob_id: blobId }] = await rows<{ blob_id: number }>(t.store, "SELECT blob_id FROM messages WHERE id = ?", [id]);
    assert.deepEqual(await rows(t.store, "SELECT blob_id FROM word_index_queue"), [{ blob_id: blobId }]);
    assert.equal((await rows(t.store, "SELECT rowid FROM blob_text")).length, 0);
    const facts = new SearchFactCache(t.store, words);
    assert.deepEqual([...(await facts.textMatches("zebraco"))!], [Number(blobId)]);
    assert.deepEqual([...(await facts.textMatches("stampede"))!], [Number(blobId)]);
    assert.equal((await rows(t.store, "SELECT blob_id FROM word_index_queue")).length, 0);
  });

  test("a delivery is stored plain and replaced by its compact form with the same bytes; readers get the same bytes and listing before and after", async () => {
    const t = await tempStore();
    await addDomain(t.store, "example.com");
    const words = new WordIndexer(t.store); // not started: caught up explicitly
    const config = testConfig({ dataDir: t.dir, lmtp: { enabled: true } });
    const srv = await startLmtp({ store: t.store, config, host: "127.0.0.1", port: 0, words });
    cleanups.push(() => t.cleanup(), () => words.stop(), () => srv.stop());
    const attachment = Buffer.alloc(20000, "spam spam spam ").toString("base64").replace(/.{76}/g, "$&\r\n");
    const raw = Buffer.from(
      "From: s@bad.example\r\nTo: alice@example.com\r\nSubject: plain then compact\r\nMIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nwombat\r\n" +
        `--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment}\r\n--B--\r\n`,
    );
    const id = await deliverRaw(srv.port, raw);
    const blob = async () => (await rows<{ data: ArrayBuffer }>(t.store, "SELECT b.data FROM blobs b JOIN messages m ON m.blob_id = b.id WHERE m.id = ?", [id]))[0].data;
    const before = new Uint8Array(await blob());
    assert.ok(isPlainContainer(before));
    assert.deepEqual(Buffer.from(decodeMessage(before)), raw);
    const listing = decodeListing(before);

    assert.equal(await words.catchUp(), 1);
    const after = new Uint8Array(await blob());
    assert.ok(!isPlainContainer(after));
    assert.ok(after.length * 4 < before.length, `compact ${after.length} bytes, plain ${before.length}`);
    assert.deepEqual(Buffer.from(decodeMessage(after)), raw);
    assert.deepEqual(decodeListing(after), listing);
    assert.equal(words.compacted, 1);
    assert.equal(await words.catchUp(), 0);
  });

  test("the background indexer empties the queue once deliveries pause; expiry of a queued blob removes its queue row", async () => {
    const t = await tempStore();
    await addDomain(t.store, "example.com");
    const words = new WordIndexer(t.store).start();
    const config = testConfig({ dataDir: t.dir, lmtp: { enabled: true } });
    const srv = await startLmtp({ store: t.store, config, host: "127.0.0.1", port: 0, words });
    cleanups.push(() => t.cleanup(), () => words.stop(), () => srv.stop());
    for (let i = 0; i < 5; i++) await deliver(srv.port, `batch word${i} quokka`, `u${i}@example.com`);
    await waitFor("word index built in the background", async () => (await rows(t.store, "SELECT blob_id FROM word_index_queue")).length === 0, 5000, 50);
    assert.equal((await rows(t.store, "SELECT rowid FROM blob_text WHERE blob_text MATCH 'quokka'")).length, 5);
    assert.equal(words.compacted, 5);

    // A blob collected while still queued takes its queue row with it (ON DELETE CASCADE).
    await words.stop();
    const id = await deliver(srv.port, "short lived");
    const [{ blob_id: blobId }] = await rows<{ blob_id: number }>(t.store, "SELECT blob_id FROM messages WHERE id = ?", [id]);
    assert.equal((await rows(t.store, "SELECT blob_id FROM word_index_queue")).length, 1);
    await t.store.client.batch(["DELETE FROM messages WHERE blob_id = " + blobId, "DELETE FROM blobs WHERE id = " + blobId], "write");
    assert.equal((await rows(t.store, "SELECT blob_id FROM word_index_queue")).length, 0);
  });
});

/** A minimal pipelined-free LMTP conversation; returns every reply line. */
function rawLmtp(port: number, lines: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const out: string[] = [];
    let step = -1;
    let waiting = 1; // greeting
    const next = () => {
      step++;
      if (step >= lines.length) return;
      const l = lines[step];
      s.write(l + "\r\n");
      if (l === "QUIT") waiting = 1;
      else if (l === "DATA") waiting = 1;
      else if (lines[step - 1] === "DATA") waiting = lines.filter((x) => x.startsWith("RCPT")).length; // one per recipient
      else waiting = 1;
    };
    onLines(s, (line) => {
      out.push(line);
      if (/^\d{3} /.test(line)) {
        waiting--;
        if (waiting <= 0) next();
      }
    });
    s.on("close", () => resolve(out));
    s.on("error", reject);
    setTimeout(() => {
      s.destroy();
      resolve(out);
    }, 5000);
  });
}
