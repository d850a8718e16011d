/**
 * State-aware fuzzing over real TLS: several sessions send random (often malformed) commands
 * at the same quarantine at once. Every command must get its tagged answer, no session may be
 * dropped, and at the end each view agrees with the database.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { message, PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { commandsPerSecond: 10000 } }, ["alice@example.com", "example.com"]);
  for (let i = 0; i < 40; i++) await t.ingest([i % 2 ? "alice@example.com" : "bob@example.com"], message(`Fuzz ${i}`, "alice@example.com", `body ${i} zanzibar\r\n`));
});
after(async () => t.stop());

/** Small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number) {
  let x = seed >>> 0;
  return () => ((x = (x * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const FOLDERS = ["Caught", "INBOX", "Release", "Trash", '"Not Spam"', "Spam", "Nope", '"Release and Train"'];
const ITEMS = ["FLAGS", "UID", "ENVELOPE", "BODYSTRUCTURE", "BODY.PEEK[]", "BODY.PEEK[HEADER.FIELDS (From)]", "BODY[1]", "BINARY.PEEK[1]", "RFC822.SIZE", "INTERNALDATE", "MODSEQ", "BODY.PEEK[TEXT]<0.10>", "BODY[", "FOO"];
const SETS = ["1", "1:*", "*", "2:4", "5,1,3", "0", "99999", "1:99999", "$", "abc", "*:1"];

function randomCommand(r: () => number): string {
  const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
  const uid = r() < 0.5 ? "UID " : "";
  switch (Math.floor(r() * 16)) {
    case 0: return `SELECT ${pick(FOLDERS)}`;
    case 1: return `EXAMINE ${pick(FOLDERS)}`;
    case 2: return `${uid}FETCH ${pick(SETS)} (${pick(ITEMS)} ${pick(ITEMS)})`;
    case 3: return `${uid}STORE ${pick(SETS)} ${pick(["+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT"])} (${pick(["\\Seen", "\\Deleted", "\\Flagged", "$Junk", "\\Bogus"])})`;
    case 4: return `${uid}SEARCH ${pick(["ALL", "UNSEEN", "TEXT zanzibar", "FROM spam", "OR SEEN DELETED", "NOT UID 1:3", "SINCE 1-Jan-2026", "LARGER 10", "HEADER Subject Fuzz", "MODSEQ 1", "CHARSET KOI8 ALL", "(", "BODY"])}`;
    case 5: return `${uid}COPY ${pick(SETS)} ${pick(FOLDERS)}`;
    case 6: return `${uid}MOVE ${pick(SETS)} ${pick(FOLDERS)}`;
    case 7: return r() < 0.5 ? "EXPUNGE" : `UID EXPUNGE ${pick(SETS)}`;
    case 8: return `STATUS ${pick(FOLDERS)} (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ SIZE)`;
    case 9: return `LIST ${pick(['"" "*"', '"" %', '"" ""', '(SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES))', "x"])}`;
    case 10: return pick(["NOOP", "CHECK", "CAPABILITY", "NAMESPACE", "ENABLE QRESYNC", "ENABLE CONDSTORE", 'ID ("name" "fuzz")']);
    case 11: return pick(["CLOSE", "UNSELECT"]);
    case 12: return pick(["CREATE x", "DELETE Caught", "RENAME Caught x", "SUBSCRIBE Trash", "UNSUBSCRIBE Trash", "LSUB \"\" *"]);
    case 13: return pick(["FETCH", "STORE 1", "UID", "SELECT", "(((((", "\"unterminated", "FETCH 1 (BODY[1.2.3.4.5.6.7.8.9.10]<5.5>)"]);
    case 14: return `APPEND ${pick(["Spam", "Release", "Caught", '"Not Spam"'])} {20+}\r\nSubject: x\r\n\r\nhello!`;
    default: return `SEARCH RETURN (${pick(["MIN", "MAX", "COUNT", "ALL", "SAVE", "MIN MAX COUNT"])}) ${pick(["ALL", "SEEN", "UID 1:*"])}`;
  }
}

test("random command streams from concurrent sessions always get answers", { timeout: 60_000 }, async () => {
  const users: [string, string][] = [["alice@example.com", PASSWORD], ["example.com", PASSWORD], ["example.com", PASSWORD], ["alice@example.com", PASSWORD]];
  const sessions = await Promise.all(
    users.map(async ([user, pass], n) => {
      const r = rng(1000 + n);
      const c = await RawClient.connect(t.imaps, true);
      assert.match(await c.cmd("L", `LOGIN ${user} ${pass}`), /^L OK/m);
      for (let i = 0; i < 150; i++) {
        const command = randomCommand(r);
        const answer = await c.cmd(`t${i}`, command, 10_000);
        assert.match(answer, new RegExp(`^t${i} (OK|NO|BAD)`, "m"), `session ${n} command ${JSON.stringify(command)}`);
        assert.doesNotMatch(answer, /SERVERBUG/, `session ${n} command ${JSON.stringify(command)}: ${answer.slice(-300)}`);
        assert.equal(c.closed, false, `session ${n} dropped after ${JSON.stringify(command)}`);
      }
      return { c, user, n };
    }),
  );
  // Once every session has stopped, each view agrees with the database.
  for (const { c, user, n } of sessions) {
      await c.cmd("s", "SELECT Caught");
      const search = await c.cmd("q", "UID SEARCH ALL");
      const uids = (search.match(/^\* SEARCH(.*)\r\n/m)?.[1] ?? "").trim().split(" ").filter(Boolean).map(Number);
      const where = user.includes("@") ? "recipient = ?" : "recipient_domain = ?";
      const db = await t.server.store.client.execute({ sql: `SELECT id FROM messages WHERE state = 'caught' AND ${where} ORDER BY id`, args: [user] });
      assert.deepEqual(uids, db.rows.map((row) => Number(row.id)), `session ${n} view`);
      c.close();
  }
});
