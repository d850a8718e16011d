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
  t = await startTestServer({}, ["alice@example.com"]);
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
