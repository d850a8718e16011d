/** The optional folders: Caught (Outgoing), Training Requested, and INBOX showing Caught. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { RawClient } from "../helpers/imap-client.ts";
import { message, PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
let inId: number;
let outId: number;
let trainId: number;
const enc = new TextEncoder();

before(async () => {
  t = await startTestServer({ imap: { outgoingFolder: true, trainingFolder: true, inboxShowsCaught: true } }, ["alice@example.com"]);
  const opts = { defaultRetentionDays: 14 };
  inId = (await ingestOne(t.server.store, { raw: enc.encode(message("Incoming")), recipients: ["alice@example.com"] }, opts)).ids[0];
  outId = (await ingestOne(t.server.store, { raw: enc.encode(message("Outgoing")), recipients: ["alice@example.com"], direction: "out" }, opts)).ids[0];
  trainId = (await ingestOne(t.server.store, { raw: enc.encode(message("Unsure")), recipients: ["alice@example.com"], direction: "train" }, opts)).ids[0];
});
after(async () => t.stop());

async function login(): Promise<RawClient> {
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`), /^l OK/m);
  return c;
}
const count = async (sql: string, ...args: number[]) => Number((await t.server.store.client.execute({ sql, args })).rows[0].n);

test("each folder shows its own rows; INBOX mirrors Caught when asked", async () => {
  const c = await login();
  const list = await c.cmd("a", 'LIST "" "*"');
  assert.match(list, /"Caught \(Outgoing\)"/);
  assert.match(list, /"Training Requested"/);
  for (const [folder, uid] of [["Caught", inId], ["INBOX", inId], ['"Caught (Outgoing)"', outId], ['"Training Requested"', trainId]] as const) {
    await c.cmd("s", `EXAMINE ${folder}`);
    assert.match(await c.cmd("q", "UID SEARCH ALL"), new RegExp(`\\* SEARCH ${uid}\\r\\n`), folder);
  }
  c.close();
});

test("moving a Training Requested copy trains the filter and never releases it", async () => {
  const c = await login();
  await c.cmd("s", 'SELECT "Training Requested"');
  assert.match(await c.cmd("m", `UID MOVE ${trainId} "Not Spam"`), /^m OK/m);
  assert.equal(await count("SELECT count(*) AS n FROM outbox WHERE message_id = ?", trainId), 0, "no release");
  assert.equal(await count("SELECT count(*) AS n FROM training_reports WHERE message_id = ? AND kind = 'ham'", trainId), 1);
  assert.equal(await count("SELECT count(*) AS n FROM messages WHERE id = ? AND state = 'caught'", trainId), 0);
  c.close();
});
