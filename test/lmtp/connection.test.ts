/**
 * The LMTP protocol layer on a real socket with recording handlers: message bytes split
 * anywhere (down to one byte per packet) arrive whole and dot-unstuffed, pipelined commands are
 * answered in order, and bad input gets the right reply without breaking the connection.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { LmtpConnection, unstuff, type LmtpHandlers } from "../../src/lmtp/connection.ts";
import { onLines } from "../helpers/lines.ts";

const delivered: { raw: Buffer; from: string; recipients: string[] }[] = [];
let underWay = 0;
const handlers: LmtpHandlers = {
  hostname: "lmtp.test",
  maxMessageBytes: 2000,
  maxRecipients: 3,
  underWay: (on) => void (underWay += on ? 1 : -1),
  checkRecipient: async (address) => (address.endsWith("@unknown.test") ? `550 5.1.1 <${address}>: unknown` : undefined),
  deliver: async (m) => {
    delivered.push(m);
    return m.recipients.map((r) => `250 2.0.0 <${r}> ok ${m.raw.length}`);
  },
};
const server = net.createServer((s) => new LmtpConnection(s, handlers));
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const port = (server.address() as net.AddressInfo).port;
after(() => server.close());

/** Sends `parts` (strings or bytes, each its own write, a pause between them) and collects reply lines until `replies` lines ending a reply arrived. */
async function talk(parts: (string | Buffer)[], replies: number, pauseMs = 0): Promise<string[]> {
  const s = net.connect(port, "127.0.0.1");
  s.setNoDelay(true);
  const lines: string[] = [];
  let finals = 0;
  const done = new Promise<void>((resolve) => {
    onLines(s, (line) => {
      lines.push(line);
      if (line[3] !== "-" && ++finals >= replies) resolve();
    });
    s.on("close", () => resolve());
    setTimeout(resolve, 5000);
  });
  await new Promise((r) => s.once("connect", r));
  for (const p of parts) {
    s.write(p);
    if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
  }
  await done;
  s.destroy();
  return lines;
}

const finals = (lines: string[]) => lines.filter((l) => l[3] !== "-").map((l) => l.slice(0, 3));

test("unstuff removes the transparency dot, also on the first line", () => {
  assert.equal(unstuff(Buffer.from("a\r\n..b\r\n.\r\nc\r\n")).toString(), "a\r\n.b\r\n\r\nc\r\n");
  assert.equal(unstuff(Buffer.from("..first\r\nx\r\n")).toString(), ".first\r\nx\r\n");
  const plain = Buffer.from("no dots\r\n");
  assert.equal(unstuff(plain), plain, "no copy when there is nothing to remove");
});

test("pipelined transaction: replies in order, one per accepted recipient after DATA", async () => {
  delivered.length = 0;
  const msg = "Subject: hi\r\n\r\nbody\r\n";
  const lines = await talk(
    ["LHLO client\r\nMAIL FROM:<s@bad.test> BODY=8BITMIME SIZE=100\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@unknown.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n" + msg + ".\r\nQUIT\r\n"],
    9,
  );
  assert.deepEqual(finals(lines), ["220", "250", "250", "250", "550", "250", "354", "250", "250", "221"].slice(0, finals(lines).length));
  assert.ok(lines.some((l) => l === "250-PIPELINING") && lines.some((l) => l === "250 SIZE 2000"), lines.join("\n"));
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].raw.toString(), msg);
  assert.deepEqual(delivered[0].recipients, ["a@x.test", "c@x.test"]);
  assert.equal(delivered[0].from, "s@bad.test");
  assert.equal(underWay, 0);
});

test("message bytes one per packet: terminator and dot-stuffing across every boundary", async () => {
  delivered.length = 0;
  const body = "Subject: split\r\n\r\n..dotted line\r\nend.\r\n.\r\n";
  const bytes = [...Buffer.from(body)].map((b) => Buffer.from([b]));
  const lines = await talk(["LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n", ...bytes, "QUIT\r\n"], 7, 1);
  assert.equal(finals(lines).at(-2), "250", lines.join("\n"));
  assert.equal(delivered[0].raw.toString(), "Subject: split\r\n\r\n.dotted line\r\nend.\r\n");
});

test("an empty message gets 554 for each recipient and is not delivered; a single dot line is a message", async () => {
  delivered.length = 0;
  const empty = await talk(["LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", ".\r\n", "NOOP\r\nQUIT\r\n"], 10, 5);
  assert.deepEqual(finals(empty), ["220", "250", "250", "250", "250", "354", "554", "554", "250", "221"]);
  assert.ok(empty.includes("554 5.6.0 Message is empty; nothing stored"), empty.join("\n"));
  await talk(["LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nDATA\r\n", "..\r\n.\r\n", "QUIT\r\n"], 7, 5);
  assert.deepEqual(delivered.map((d) => d.raw.toString()), [".\r\n"]);
  assert.equal(underWay, 0);
});

test("NUL and other control characters in MAIL FROM or RCPT TO are refused with 553", async () => {
  delivered.length = 0;
  const lines = await talk(
    [
      "LHLO c\r\nMAIL FROM:<s\u0000x@x.test>\r\nMAIL FROM:<s\u0001@x.test>\r\nMAIL FROM:<s@x.test\u007f>\r\nMAIL FROM:<s@x.test>\r\n" +
        "RCPT TO:<alice\u0000@x.test>\r\nRCPT TO:<al\tice@x.test>\r\nRCPT TO:<a@x.test>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nQUIT\r\n",
    ],
    12,
  );
  assert.deepEqual(finals(lines), ["220", "250", "553", "553", "553", "250", "553", "553", "250", "354", "250", "221"]);
  assert.ok(lines.includes("553 5.1.7 Bad sender address syntax: control characters are not allowed"), lines.join("\n"));
  assert.ok(lines.includes("553 5.1.3 Bad recipient address syntax: control characters are not allowed"), lines.join("\n"));
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].from, "s@x.test");
  assert.deepEqual(delivered[0].recipients, ["a@x.test"]);
});

test("order and syntax errors get 5xx and the session goes on; too many errors close it", async () => {
  const lines = await talk(
    ["MAIL FROM:<a@b>\r\nHELO x\r\nLHLO c\r\nRCPT TO:<a@x.test>\r\nDATA\r\nMAIL FROM:<a@b> RET=FULL\r\nMAIL FROM:<a@b> SIZE=999999\r\nMAIL FROM:<a@b>\r\nDATA\r\nRCPT TO:<a@x.test> NOTIFY=NEVER\r\nBOGUS\r\nNOOP\r\nQUIT\r\n"],
    14,
  );
  assert.deepEqual(finals(lines), ["220", "503", "500", "250", "503", "503", "555", "552", "250", "503", "555", "500", "250", "221"]);
  const many = await talk([Array.from({ length: 12 }, () => "BOGUS\r\n").join("")], 12);
  assert.equal(finals(many).at(-1), "421");
});

test("an over-long line is refused and the connection keeps working; too many recipients 452", async () => {
  const lines = await talk(["LHLO " + "x".repeat(6000) + "\r\nLHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nRCPT TO:<d@x.test>\r\nQUIT\r\n"], 9);
  assert.deepEqual(finals(lines), ["220", "500", "250", "250", "250", "250", "250", "452", "221"]);
});

test("a message over the size limit gets 552 for each recipient and is not delivered", async () => {
  delivered.length = 0;
  const big = "Subject: big\r\n\r\n" + "y".repeat(3000) + "\r\n";
  const lines = await talk(["LHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n", big, ".\r\nNOOP\r\n"], 8, 5);
  assert.deepEqual(finals(lines).slice(-3), ["552", "552", "250"]);
  assert.equal(delivered.length, 0);
  assert.equal(underWay, 0);
});
