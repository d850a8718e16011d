/** SEARCH semantics over real IMAP: dates as written, header keys, TEXT via the word index, ESEARCH. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
let c: RawClient;
const uid: Record<string, number> = {};

function msg(date: string, subject: string, body: string, extra = ""): string {
  return `From: Lucky Winner <winner@lottery.test>\r\nTo: alice@example.com\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@lottery.test>\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`;
}

before(async () => {
  t = await startTestServer({}, ["alice@example.com", "erin@example.com", "bob@example.com", "example.com"]);
  // Both are on 20 Nov as written; in UTC the first is 19 Nov and the second 21 Nov.
  [uid.east] = await t.ingest(["alice@example.com"], msg("Fri, 20 Nov 2026 02:06:40 +0800", "East", "Grüße aus Köln, you won a kumquat"));
  [uid.west] = await t.ingest(["alice@example.com"], msg("Fri, 20 Nov 2026 19:02:54 -0700", "West", "zanzibar fjord offer", "X-Campaign: spring-sale\r\n"));
  [uid.before] = await t.ingest(["alice@example.com"], msg("Thu, 19 Nov 2026 23:59:59 +0000", "Before", "nothing special"));
  c = await RawClient.connect(t.imaps, true);
  await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`);
  await c.cmd("s", "SELECT Caught");
});
after(async () => {
  c.close();
  await t.stop();
});

async function search(criteria: string): Promise<number[]> {
  const r = await c.cmd("q", `UID SEARCH ${criteria}`);
  assert.match(r, /^q OK/m, r);
  return (r.match(/^\* SEARCH(.*)\r\n/m)?.[1] ?? "").trim().split(" ").filter(Boolean).map(Number);
}

test("SENTON / SENTSINCE / SENTBEFORE use the Date header's day as written", async () => {
  assert.deepEqual(await search("SENTON 20-Nov-2026"), [uid.east, uid.west]);
  assert.deepEqual(await search("SENTSINCE 20-Nov-2026"), [uid.east, uid.west]);
  assert.deepEqual(await search("SENTBEFORE 20-Nov-2026"), [uid.before]);
});

test("header keys are substring matches on decoded fields, any header by name", async () => {
  assert.deepEqual(await search("FROM winner"), [uid.east, uid.west, uid.before]);
  assert.deepEqual(await search("SUBJECT wes"), [uid.west]);
  assert.deepEqual(await search("HEADER Message-ID East@"), [uid.east]);
  assert.deepEqual(await search("HEADER X-Campaign spring"), [uid.west]);
  assert.deepEqual(await search("HEADER X-Campaign \"\""), [uid.west]);
});

test("TEXT and BODY find words and word prefixes, accents folded; CHARSET UTF-8", async () => {
  assert.deepEqual(await search("TEXT zanzibar"), [uid.west]);
  assert.deepEqual(await search("BODY kumq"), [uid.east]);
  assert.deepEqual(await search("CHARSET UTF-8 BODY grüße"), [uid.east]);
  assert.deepEqual(await search("BODY koln"), [uid.east]);
  assert.deepEqual(await search("TEXT lottery"), [uid.east, uid.west, uid.before], "TEXT also searches the header");
  assert.deepEqual(await search("NOT BODY zanzibar"), [uid.east, uid.before]);
  const bad = await c.cmd("b", "UID SEARCH CHARSET KOI8-R BODY x");
  assert.match(bad, /^b NO \[BADCHARSET/m);
});

test("ESEARCH and SEARCHRES", async () => {
  const r = await c.cmd("e", "UID SEARCH RETURN (MIN MAX COUNT) FROM winner");
  assert.match(r, new RegExp(`\\* ESEARCH \\(TAG "e"\\) UID MIN ${uid.east} MAX ${uid.before} COUNT 3`));
  await c.cmd("v", "UID SEARCH RETURN (SAVE) SUBJECT west");
  assert.match(await c.cmd("f", "UID FETCH $ (UID)"), new RegExp(`UID ${uid.west}\\)`));
});

async function session(user: string): Promise<RawClient> {
  const x = await RawClient.connect(t.imaps, true);
  assert.match(await x.cmd("l", `LOGIN ${user} ${PASSWORD}`), /^l OK/m);
  assert.match(await x.cmd("s", "SELECT Caught"), /^s OK/m);
  return x;
}

async function searchOn(x: RawClient, criteria: string): Promise<number[]> {
  const r = await x.cmd("q", `UID SEARCH ${criteria}`);
  assert.match(r, /^q OK/m, r);
  return (r.match(/^\* SEARCH(.*)\r\n/m)?.[1] ?? "").trim().split(" ").filter(Boolean).map(Number);
}

test("TEXT matches any header field as HEADER does (Received, X-Spam-Status, Message-ID), and body words", async () => {
  const received =
    "Received: from relay.example (relay.example [192.0.2.7])\r\n\tby mx.bad.test (Postfix) with ESMTP id 4AB12C3D4E\r\n\tfor <erin@example.com>; Fri, 20 Nov 2026 13:27:29 +0000\r\n" +
    "X-Spam-Status: Yes, score=12.3 required=5.0\r\n tests=RCVD_IN_SBL,URIBL_BLACK autolearn=no\r\n";
  const [relay] = await t.ingest(["erin@example.com"], msg("Fri, 20 Nov 2026 13:27:30 +0000", "Relay", "a plain body about kumquats", received));
  const [mid] = await t.ingest(["erin@example.com"], msg("Fri, 20 Nov 2026 13:27:31 +0000", "Mid Qx7 unique", "nothing to see"));
  const [plain] = await t.ingest(["erin@example.com"], msg("Fri, 20 Nov 2026 13:27:32 +0000", "Plain", "zanzibar only in the body"));
  const erin = await session("erin@example.com");
  try {
    assert.deepEqual(await searchOn(erin, "TEXT 4AB12C3D4E"), [relay], "Received: queue id");
    assert.deepEqual(await searchOn(erin, "TEXT postfix"), [relay], "Received: case-insensitive");
    assert.deepEqual(await searchOn(erin, "TEXT mx.bad.test"), [relay]);
    assert.deepEqual(await searchOn(erin, "TEXT RCVD_IN_SBL"), [relay], "X-Spam-Status continuation line");
    assert.deepEqual(await searchOn(erin, 'TEXT "required=5.0 tests=rcvd_in"'), [relay], "across a fold, unfolded as HEADER does");
    assert.deepEqual(await searchOn(erin, "HEADER X-Spam-Status rcvd_in_sbl"), [relay]);
    assert.deepEqual(await searchOn(erin, "TEXT midqx7unique@lottery"), [mid], "Message-ID");
    assert.deepEqual(await searchOn(erin, "TEXT zanzibar"), [plain], "body words still come from the word index");
    assert.deepEqual(await searchOn(erin, "TEXT kumq"), [relay]);
    assert.deepEqual(await searchOn(erin, "NOT TEXT rcvd_in_sbl"), [mid, plain]);
    assert.deepEqual(await searchOn(erin, "NOT TEXT zanzibar"), [relay, mid]);
    assert.deepEqual(await searchOn(erin, "OR TEXT 4ab12c3d4e TEXT zanzibar"), [relay, plain]);
    assert.deepEqual(await searchOn(erin, "BODY postfix"), [], "BODY stays the body");
    assert.deepEqual(await searchOn(erin, "TEXT nowhere-at-all"), []);
  } finally {
    erin.close();
  }
});

test("TEXT over headers respects the login's scope", async () => {
  const spam = msg("Fri, 20 Nov 2026 13:27:33 +0000", "For Bob", "bob's body", "X-Spam-Status: Yes, score=9.9\r\n tests=BOBONLY_RULE\r\n").replace("alice@example.com", "bob@example.com");
  const [bob] = await t.ingest(["bob@example.com"], spam);
  const [shared] = await t.ingest(["erin@example.com"], msg("Fri, 20 Nov 2026 13:27:34 +0000", "Erin too", "hello", "X-Spam-Status: Yes, tests=BOBONLY_RULE\r\n"));
  const [b, e, a, dom] = await Promise.all(["bob@example.com", "erin@example.com", "alice@example.com", "example.com"].map(session));
  try {
    assert.deepEqual(await searchOn(b, "TEXT bobonly_rule"), [bob]);
    assert.deepEqual(await searchOn(e, "TEXT bobonly_rule"), [shared]);
    assert.deepEqual(await searchOn(a, "TEXT bobonly_rule"), []);
    assert.deepEqual(await searchOn(a, "NOT TEXT bobonly_rule"), await searchOn(a, "ALL"));
    assert.deepEqual(await searchOn(dom, "TEXT bobonly_rule"), [bob, shared], "the domain admin sees both");
  } finally {
    for (const x of [b, e, a, dom]) x.close();
  }
});

test("SEARCH limits: NO [LIMIT] for too many words or too long a string, TOOBIG for a message-sized literal", async () => {
  const x = await session("alice@example.com");
  try {
    // a literal larger than any command but APPEND takes: no continuation, the session goes on
    x.write("a UID SEARCH TEXT {70000}\r\n");
    const r = await x.waitFor(/^a (BAD|NO)[^\r]*\r\n|^\+[^\r]*\r\n/m);
    assert.match(r, /^a BAD \[TOOBIG\]/m);
    assert.match(await x.cmd("b", "NOOP"), /^b OK/m);
    x.write(`c UID SEARCH TEXT {1100+}\r\n${"ab ".repeat(366)}ab\r\n`);
    assert.match(await x.waitFor(/^c [^\r]*\r\n/m), /^c NO \[LIMIT\] Search string too long/m);
    const words = Array.from({ length: 65 }, (_, i) => `w${i}x`).join(" ");
    assert.match(await x.cmd("d", `UID SEARCH BODY "${words}"`), /^d NO \[LIMIT\] Search string has too many words/m);
    assert.match(await x.cmd("e", `UID SEARCH ${"ALL ".repeat(1001)}`), /^e NO \[LIMIT\] Too many search keys/m);
    // the same word many times is one word; a long OR of sets is fine
    assert.deepEqual(await searchOn(x, `BODY "${"zanzibar ".repeat(110)}"`), [uid.west]);
    assert.deepEqual(await searchOn(x, `UID ${Array.from({ length: 3000 }, (_, i) => 3 * i + uid.west).join(",")}`), [uid.west]);
  } finally {
    x.close();
  }
});

test("TEXT/BODY with more words than one index query takes: every word must match", async () => {
  const words = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima".split(" ");
  const [all] = await t.ingest(["alice@example.com"], msg("Fri, 20 Nov 2026 13:28:00 +0000", "Phonetic", words.join(" ")));
  const [most] = await t.ingest(["alice@example.com"], msg("Fri, 20 Nov 2026 13:28:01 +0000", "Phonetic2", words.slice(0, 11).join(" ")));
  const x = await session("alice@example.com");
  try {
    assert.deepEqual(await searchOn(x, `BODY "${words.join(" ")}"`), [all]);
    assert.deepEqual(await searchOn(x, `TEXT "${words.slice(0, 11).join(" ")}"`), [all, most]);
    assert.deepEqual(await searchOn(x, `BODY "${[...words, "zulu"].join(" ")}"`), []);
  } finally {
    x.close();
  }
});
