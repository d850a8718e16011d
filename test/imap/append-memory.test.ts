/** APPEND literals share one memory budget (limits.literalMemoryMb): past it, NO [LIMIT] before any byte is sent. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { message, PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { literalMemoryMb: 1, maxMessageBytes: 4 * 1024 * 1024 } }, ["alice@example.com"]);
});
after(async () => t.stop());

async function login(): Promise<RawClient> {
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`), /^l OK/m);
  return c;
}

/** A message of exactly n bytes. */
function sized(n: number): string {
  const head = message("Big upload");
  return head + "x".repeat(n - head.length - 2) + "\r\n";
}

const reply = (c: RawClient, tag: string) => c.waitFor(new RegExp(`^${tag} (OK|NO|BAD)[^\\r]*\\r\\n|^\\+[^\\r]*\\r\\n`, "m"));

test("a second large upload while the first holds the budget: NO [LIMIT], no continuation; then it fits again", async () => {
  const a = await login();
  const b = await login();
  const big = sized(900_000);
  a.write(`a APPEND Spam {${big.length}}\r\n`);
  assert.match(await reply(a, "a"), /^\+/m, "one upload always fits");
  a.write(big.slice(0, 100_000));
  b.write(`b APPEND Spam {${big.length}}\r\n`);
  assert.match(await reply(b, "b"), /^b NO \[LIMIT\] Too many messages are being uploaded/m);
  // LITERAL+: the bytes come anyway; they are skipped and the session goes on
  b.write(`c APPEND Spam {${big.length}+}\r\n${big}\r\n`);
  assert.match(await reply(b, "c"), /^c NO \[LIMIT\]/m);
  assert.match(await b.cmd("d", "NOOP"), /^d OK/m);
  // small literals are not counted
  const small = message("Small upload");
  b.write(`e APPEND Spam {${small.length}+}\r\n${small}\r\n`);
  assert.match(await reply(b, "e"), /^e OK/m);
  // the first upload finishes: its memory is given back
  a.write(`${big.slice(100_000)}\r\n`);
  assert.match(await reply(a, "a"), /^a OK/m);
  b.write(`f APPEND Spam {${big.length}}\r\n`);
  assert.match(await reply(b, "f"), /^\+/m);
  b.write(`${big}\r\n`);
  assert.match(await reply(b, "f"), /^f OK/m);
  a.close();
  b.close();
});

test("a connection that goes away in the middle of its upload gives the memory back", async () => {
  const a = await login();
  const big = sized(900_000);
  a.write(`a APPEND Spam {${big.length}+}\r\n${big.slice(0, 50_000)}`);
  await new Promise((r) => setTimeout(r, 100));
  a.close();
  await new Promise((r) => setTimeout(r, 200));
  const b = await login();
  b.write(`b APPEND Spam {${big.length}}\r\n`);
  assert.match(await reply(b, "b"), /^\+/m, "fits: the closed connection's literal was released");
  b.write(`${big}\r\n`);
  assert.match(await reply(b, "b"), /^b OK/m);
  b.close();
});
