import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CommandReader, type ReaderEvent } from "../../../../src/imap/protocol/index.ts";
import { LIMITS, bytewise, enc, feed, plain, reader } from "./helpers.ts";

/** Same events whether the input arrives at once, byte by byte, or in odd-sized pieces. */
function sameAllWays(input: string, opts: { literalPlus?: boolean } = {}): unknown[] {
  const whole = plain(feed(reader(opts), [input]));
  assert.deepEqual(plain(feed(reader(opts), bytewise(input))), whole, "byte by byte");
  const b = enc.encode(input);
  for (const size of [2, 3, 7, 13]) {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < b.length; i += size) parts.push(b.slice(i, i + size));
    assert.deepEqual(plain(feed(reader(opts), parts)), whole, `chunks of ${size}`);
  }
  return whole;
}

describe("CommandReader: commands", () => {
  it("parses a simple command, upper-cases the name", () => {
    assert.deepEqual(plain(feed(reader(), ["a1 noop\r\n"])), [{ kind: "command", tag: "a1", name: "NOOP", args: [] }]);
  });

  it("pipelined commands, split at every byte boundary", () => {
    const input = 'a1 SELECT INBOX\r\na2 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>)\r\n' +
      'a3 LIST "" "*"\r\na4 uid store 1 +FLAGS (\\Seen)\r\n';
    const ev = sameAllWays(input);
    assert.deepEqual(ev, [
      { kind: "command", tag: "a1", name: "SELECT", args: ["INBOX"] },
      { kind: "command", tag: "a2", name: "FETCH", uid: true,
        args: ["1:*", ["UID", "FLAGS", "BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>"]] },
      { kind: "command", tag: "a3", name: "LIST", args: [{ str: "" }, { str: "*" }] },
      { kind: "command", tag: "a4", name: "STORE", uid: true, args: ["1", "+FLAGS", ["\\Seen"]] },
    ]);
  });

  it("UID with every sub-command; unknown UID command is an error", () => {
    for (const sub of ["FETCH", "STORE", "COPY", "MOVE", "SEARCH", "EXPUNGE"]) {
      const [e] = feed(reader(), [`x UID ${sub.toLowerCase()} 1\r\n`]);
      assert.equal(e.kind === "command" && e.name, sub);
      assert.equal(e.kind === "command" && e.uid, true);
    }
    const [e] = feed(reader(), ["x UID NOOP\r\n"]);
    assert.equal(e.kind, "error");
    assert.equal(e.kind === "error" && e.tag, "x");
  });

  it("quoted strings with escapes, nested lists, bare LF", () => {
    const ev = plain(feed(reader(), ['t X "a \\"b\\" \\\\c" (1 (2 (3)) "") NIL\n']));
    assert.deepEqual(ev, [{ kind: "command", tag: "t", name: "X", args: [{ str: 'a "b" \\c' }, ["1", ["2", ["3"]], { str: "" }], "NIL"] }]);
  });

  it("fetch sections keep quoted field names and spaces inside one atom", () => {
    const ev = plain(feed(reader(), ['t FETCH 1 (BODY[HEADER.FIELDS ("From" To)] BINARY.SIZE[1]) (CHANGEDSINCE 1)\r\n']));
    assert.deepEqual(ev, [{ kind: "command", tag: "t", name: "FETCH",
      args: ["1", ['BODY[HEADER.FIELDS ("From" To)]', "BINARY.SIZE[1]"], ["CHANGEDSINCE", "1"]] }]);
  });

  it("UTF-8 in quoted strings", () => {
    const ev = plain(feed(reader(), ['t SELECT "Entwürfe/日本"\r\n']));
    assert.deepEqual(ev, [{ kind: "command", tag: "t", name: "SELECT", args: [{ str: "Entwürfe/日本" }] }]);
  });

  it("atoms like [Gmail]/Sent and * % keep their characters", () => {
    const ev = plain(feed(reader(), ["t LIST [Gmail]/% *\r\nt2 RENAME [Old New\r\n"]));
    assert.deepEqual(ev, [
      { kind: "command", tag: "t", name: "LIST", args: ["[Gmail]/%", "*"] },
      { kind: "command", tag: "t2", name: "RENAME", args: ["[Old", "New"] },
    ]);
  });

  it("bad tags and empty lines give untagged errors, and parsing goes on", () => {
    const ev = feed(reader(), ["\r\n+ NOOP\r\n* NOOP\r\na\"b NOOP\r\nok NOOP\r\n"]);
    assert.deepEqual(ev.map((e) => [e.kind, e.kind === "error" ? e.tag : e.kind === "command" ? e.tag : null]), [
      ["error", null], ["error", null], ["error", null], ["error", null], ["command", "ok"],
    ]);
  });

  it("tag without command, unbalanced parentheses, bad escape: tagged errors", () => {
    for (const line of ["a1\r\n", "a1 \r\n", "a1 FETCH 1 (FLAGS\r\n", "a1 FETCH 1 FLAGS)\r\n", 'a1 LOGIN "a\\x" b\r\n', 'a1 LOGIN "abc\r\n']) {
      const ev = feed(reader(), [line, "a2 NOOP\r\n"]);
      assert.equal(ev.length, 2, line);
      assert.equal(ev[0].kind, "error", line);
      assert.equal(ev[0].kind === "error" && ev[0].tag, "a1", line);
      assert.equal(ev[1].kind === "command" && ev[1].tag, "a2", line);
    }
  });

  it("enforces the nesting depth", () => {
    const deep = "(".repeat(9) + ")".repeat(9);
    const ok = "(".repeat(8) + ")".repeat(8);
    const [e1] = feed(reader(), [`a X ${deep}\r\n`]);
    assert.equal(e1.kind, "error");
    const [e2] = feed(reader(), [`a X ${ok}\r\n`]);
    assert.equal(e2.kind, "command");
  });
});

describe("CommandReader: literals", () => {
  it("synchronizing literal with CRLF and ) inside, split every way", () => {
    const body = "Subject: x)\r\n\r\n(hi)\r\n";
    const input = `a1 APPEND Drafts (\\Seen) {${enc.encode(body).length}}\r\n${body} {3}\r\nabc\r\na2 NOOP\r\n`;
    const ev = sameAllWays(input);
    assert.deepEqual(ev, [
      { kind: "continue" },
      { kind: "continue" },
      { kind: "command", tag: "a1", name: "APPEND", args: ["Drafts", ["\\Seen"], { lit: body }, { lit: "abc" }] },
      { kind: "command", tag: "a2", name: "NOOP", args: [] },
    ]);
  });

  it("continue comes before the literal bytes arrive", () => {
    const r = reader();
    assert.deepEqual(plain(r.push(enc.encode("a LOGIN {5}\r\n"))), [{ kind: "continue" }]);
    assert.deepEqual(plain(r.push(enc.encode("alice {6}\r\n"))), [{ kind: "continue" }]);
    assert.deepEqual(plain(r.push(enc.encode("s3cr\r\n\r\n"))), [
      { kind: "command", tag: "a", name: "LOGIN", args: [{ lit: "alice" }, { lit: "s3cr\r\n" }] },
    ]);
  });

  it("non-synchronizing literals {n+} and empty literal", () => {
    const ev = sameAllWays("a LOGIN {5+}\r\nalice {0}\r\n\r\n", { literalPlus: true });
    assert.deepEqual(ev, [{ kind: "continue" }, { kind: "command", tag: "a", name: "LOGIN", args: [{ lit: "alice" }, { lit: "" }] }]);
  });

  it("literal8 ~{n} is read like a literal", () => {
    const ev = plain(feed(reader(), ["a APPEND x ~{3}\r\n\x00\x01\x02\r\n"]));
    assert.deepEqual(ev[1], { kind: "command", tag: "a", name: "APPEND", args: ["x", { lit: "\x00\x01\x02" }] });
  });

  it("{n+} without LITERAL+ is refused and its bytes skipped", () => {
    const ev = plain(feed(reader(), ["a LOGIN {5+}\r\nalice pw\r\nb NOOP\r\n"]));
    assert.equal((ev[0] as ReaderEvent).kind, "error");
    assert.deepEqual(ev.slice(1), [{ kind: "command", tag: "b", name: "NOOP", args: [] }]);
  });

  it("too large synchronizing literal: TOOBIG, no continue, next command is read", () => {
    const ev = sameAllWays("a APPEND x {999999}\r\nb NOOP\r\n");
    assert.deepEqual(ev, [
      { kind: "error", tag: "a", code: "TOOBIG", message: "Literal too large" },
      { kind: "command", tag: "b", name: "NOOP", args: [] },
    ]);
  });

  it("too large non-synchronizing literal: bytes skipped exactly, then resync", () => {
    const big = "x".repeat(6000) + "\r\nfake NOOP\r\n";
    const input = `a APPEND x {${big.length}+}\r\n${big} {3+}\r\nabc\r\nb NOOP\r\n`;
    const ev = sameAllWays(input, { literalPlus: true });
    assert.deepEqual(ev, [
      { kind: "error", tag: "a", code: "TOOBIG", message: "Literal too large" },
      { kind: "command", tag: "b", name: "NOOP", args: [] },
    ]);
  });

  it("maxCommandBytes counts literals together", () => {
    const r = reader({ literalPlus: true }, { ...LIMITS, maxCommandBytes: 6000 });
    const ev = feed(r, [`a X {4000+}\r\n${"y".repeat(4000)} {4000+}\r\n${"z".repeat(4000)}\r\nb NOOP\r\n`]);
    assert.deepEqual(ev.map((e) => e.kind), ["error", "command"]);
    assert.equal(ev[0].kind === "error" && ev[0].code, "TOOBIG");
  });

  it("only APPEND takes the APPEND limits: a SEARCH string cannot be a message-sized literal", () => {
    const limits = { ...LIMITS, maxLiteralBytes: 100, maxCommandBytes: 300, maxAppendLiteralBytes: 5000, maxAppendCommandBytes: 6000 };
    const body = "y".repeat(4000);
    for (const line of [`a APPEND x {4000}`, `a append x (\\Seen) {4000}`]) {
      const r = reader({}, limits);
      assert.deepEqual(feed(r, [`${line}\r\n`]).map((e) => e.kind), ["continue"], line);
      assert.deepEqual(feed(r, [`${body}\r\n`]).map((e) => e.kind), ["command"], line);
    }
    for (const line of ["a UID SEARCH TEXT {4000}", "a SEARCH UID {101}", "a LOGIN {4000}", "a APPENDX x {4000}", "a SELECT APPEND {4000}"]) {
      const ev = feed(reader({}, limits), [`${line}\r\nb NOOP\r\n`]);
      assert.deepEqual(ev.map((e) => e.kind), ["error", "command"], line);
      assert.equal(ev[0].kind === "error" && ev[0].code, "TOOBIG", line);
    }
    // literal by literal, a command other than APPEND stops at maxCommandBytes
    const ev = feed(reader({ literalPlus: true }, limits), [`a SEARCH TEXT {90+}\r\n${"z".repeat(90)} TEXT {90+}\r\n${"z".repeat(90)} TEXT {90+}\r\n${"z".repeat(90)}\r\nb NOOP\r\n`]);
    assert.deepEqual(ev.map((e) => e.kind === "error" ? e.code : e.kind), ["TOOBIG", "command"]);
  });

  it("never buffers more than a line while streaming a literal", () => {
    const r = reader();
    r.push(enc.encode("a APPEND x {4000}\r\n"));
    for (let i = 0; i < 40; i++) {
      r.push(new Uint8Array(100).fill(0x41));
      assert.equal(r.bufferedBytes, 0);
    }
    assert.deepEqual(r.push(enc.encode("\r\n")).map((e) => e.kind), ["command"]);
  });
});

describe("CommandReader: limits and resync", () => {
  it("line too long: one error, then recovery at the next CRLF", () => {
    const long = "a1 LOGIN " + "x".repeat(3000) + "\r\na2 NOOP\r\n";
    const ev = sameAllWays(long);
    assert.deepEqual(ev, [
      { kind: "error", tag: "a1", code: "TOOBIG", message: "Line too long" },
      { kind: "command", tag: "a2", name: "NOOP", args: [] },
    ]);
  });

  it("line too long keeps memory bounded while it streams", () => {
    const r = reader();
    const ev: ReaderEvent[] = [];
    for (let i = 0; i < 100; i++) {
      ev.push(...r.push(new Uint8Array(500).fill(0x61)));
      assert.ok(r.bufferedBytes <= LIMITS.maxLineBytes + 500);
    }
    ev.push(...r.push(enc.encode("\r\nb NOOP\r\n")));
    assert.deepEqual(ev.map((e) => e.kind), ["error", "command"]);
    assert.equal(ev[0].kind === "error" && ev[0].tag, null, "no tag: the line had no space");
  });

  it("an over-long line that announced {n+} has its literal skipped too", () => {
    const input = `a X ${"q".repeat(2000)} {5+}\r\nb BAD\r\nc NOOP\r\n`;
    const ev = sameAllWays(input, { literalPlus: true });
    assert.deepEqual(ev, [
      { kind: "error", tag: "a", code: "TOOBIG", message: "Line too long" },
      { kind: "command", tag: "c", name: "NOOP", args: [] },
    ]);
  });
});

describe("CommandReader: modes", () => {
  it("pauses after IDLE; line mode delivers DONE, then buffered commands follow (iOS)", () => {
    const r = reader();
    let ev = r.push(enc.encode("a1 IDLE\r\n"));
    assert.deepEqual(plain(ev), [{ kind: "command", tag: "a1", name: "IDLE", args: [] }]);
    r.lineMode(true);
    ev = r.push(enc.encode("DONE\r\nA2 NOOP\r\nA3 SELECT INBOX\r\n"));
    assert.deepEqual(plain(ev), [{ kind: "line", text: "DONE" }]);
    assert.ok(r.bufferedBytes > 0);
    r.lineMode(false);
    ev = r.push(new Uint8Array(0));
    assert.deepEqual(plain(ev), [
      { kind: "command", tag: "A2", name: "NOOP", args: [] },
      { kind: "command", tag: "A3", name: "SELECT", args: ["INBOX"] },
    ]);
    assert.equal(r.bufferedBytes, 0);
  });

  it("AUTHENTICATE with SASL-IR pauses; drain() continues with the pipelined commands", () => {
    const r = reader();
    const ev = r.push(enc.encode("a AUTHENTICATE PLAIN AGFsaWNlAHB3\r\nb SELECT INBOX\r\n"));
    assert.deepEqual(plain(ev), [{ kind: "command", tag: "a", name: "AUTHENTICATE", args: ["PLAIN", "AGFsaWNlAHB3"] }]);
    assert.deepEqual(plain(r.drain()), [{ kind: "command", tag: "b", name: "SELECT", args: ["INBOX"] }]);
    assert.deepEqual(r.drain(), []);
  });

  it("IDLE and DONE in one packet", () => {
    const r = reader();
    assert.deepEqual(plain(r.push(enc.encode("a1 IDLE\r\nDONE\r\na2 NOOP\r\n"))).length, 1);
    r.lineMode(true);
    assert.deepEqual(plain(r.push(new Uint8Array(0))), [{ kind: "line", text: "DONE" }]);
    r.lineMode(false);
    assert.deepEqual(plain(r.push(new Uint8Array(0))), [{ kind: "command", tag: "a2", name: "NOOP", args: [] }]);
  });

  it("line mode for SASL: one line per push, byte by byte too", () => {
    const r = reader();
    r.push(enc.encode("a AUTHENTICATE PLAIN\r\n"));
    r.lineMode(true);
    const ev = feed(r, bytewise("AGFsaWNlAHB3\r\n"));
    assert.deepEqual(plain(ev), [{ kind: "line", text: "AGFsaWNlAHB3" }]);
  });

  it("line mode: an over-long raw line is one tooLong line, its rest skipped; then commands again", () => {
    for (const input of [[`${"A".repeat(3000)}\r\nb NOOP\r\n`], ["A".repeat(1500), "A".repeat(1500), `AAA {5+}\r\nb NOOP\r\n`]]) {
      const r = reader({ literalPlus: true });
      r.push(enc.encode("a AUTHENTICATE PLAIN\r\n"));
      r.lineMode(true);
      // as the session does: nothing more is pushed until the line's owner has left line mode
      const ev = feed(r, input.slice(0, 1));
      assert.deepEqual(ev, [{ kind: "line", text: "", tooLong: true }]);
      r.lineMode(false);
      const rest = [...r.drain(), ...feed(r, input.slice(1))];
      assert.deepEqual(plain(rest), [{ kind: "command", tag: "b", name: "NOOP", args: [] }], "no literal is looked for in a raw line");
    }
  });

  it("discardBuffered drops what was pipelined after STARTTLS", () => {
    const r = reader();
    const ev = r.push(enc.encode("a STARTTLS\r\nb LOGIN evil injected\r\n"));
    assert.deepEqual(plain(ev), [{ kind: "command", tag: "a", name: "STARTTLS", args: [] }]);
    assert.ok(r.bufferedBytes > 0);
    r.discardBuffered();
    assert.equal(r.bufferedBytes, 0);
    assert.deepEqual(plain(r.push(enc.encode("c CAPABILITY\r\n"))), [{ kind: "command", tag: "c", name: "CAPABILITY", args: [] }]);
  });

  it("a client flooding while paused is cut off with a fatal error", () => {
    const r = new CommandReader({ ...LIMITS, maxCommandBytes: 2000 });
    r.push(enc.encode("a IDLE\r\n"));
    r.lineMode(true);
    let fatal = false;
    for (let i = 0; i < 100 && !fatal; i++) {
      fatal = r.push(enc.encode("x NOOP\r\n".repeat(50))).some((e) => e.kind === "error" && e.fatal === true);
    }
    assert.ok(fatal);
  });
});

describe("CommandReader: fuzz", () => {
  it("random bytes never throw and never hold unbounded data (10,000 iterations, fixed seed)", () => {
    let seed = 0x12345678;
    const rnd = () => {
      // xorshift32
      seed ^= seed << 13; seed >>>= 0;
      seed ^= seed >>> 17;
      seed ^= seed << 5; seed >>>= 0;
      return seed;
    };
    const alphabet = enc.encode('a1 UID FETCH BODY[]()<>{}{5}{3+}~"\\\r\n* %+$0123456789:,.\x00\xff');
    const r = new CommandReader({ maxLineBytes: 200, maxLiteralBytes: 100, maxCommandBytes: 400, maxDepth: 4 }, { literalPlus: true });
    let events = 0;
    for (let i = 0; i < 10_000; i++) {
      const len = rnd() % 40;
      const chunk = new Uint8Array(len);
      for (let j = 0; j < len; j++) chunk[j] = rnd() % 4 === 0 ? rnd() & 0xff : alphabet[rnd() % alphabet.length];
      const mode = rnd() % 50;
      if (mode === 0) r.lineMode(true);
      if (mode === 1) r.lineMode(false);
      if (mode === 2) r.discardBuffered();
      events += r.push(chunk).length;
      assert.ok(r.bufferedBytes <= 200 + 400 + 40);
    }
    assert.ok(events > 100);
  });

  it("chunking never changes the events (2,000 random inputs, fixed seed)", () => {
    let seed = 42;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8;
    const pieces = ["a1 ", "NOOP", " ", "(", ")", '"x y"', '"\\"', "{3}\r\nabc", "{2+}\r\n)(", "{0}\r\n", "\r\n",
      "BODY[HEADER.FIELDS (A B)]<0.5>", "1:*", "{99999}\r\n", "zz".repeat(150), "\n", "*", "\xff"];
    const limits = { maxLineBytes: 120, maxLiteralBytes: 50, maxCommandBytes: 300, maxDepth: 3 };
    const run = (bytes: Uint8Array, sizes: () => number) => {
      const r = new CommandReader(limits, { literalPlus: true });
      const ev: ReaderEvent[] = [];
      for (let i = 0; i < bytes.length;) {
        const n = sizes();
        ev.push(...r.push(bytes.subarray(i, i + n)));
        i += n;
      }
      return plain(ev);
    };
    for (let k = 0; k < 2000; k++) {
      let text = "";
      const count = rnd() % 30;
      for (let j = 0; j < count; j++) text += pieces[rnd() % pieces.length];
      const bytes = enc.encode(text);
      const whole = run(bytes, () => bytes.length || 1);
      assert.deepEqual(run(bytes, () => 1), whole, JSON.stringify(text));
      assert.deepEqual(run(bytes, () => 1 + (rnd() % 17)), whole, JSON.stringify(text));
    }
  });
});

describe("CommandReader: literal budget", () => {
  function budget(max: number) {
    const b = {
      used: 0,
      reserve(n: number) {
        if (b.used + n > max) return false;
        b.used += n;
        return true;
      },
      release(n: number) {
        b.used -= n;
      },
    };
    return b;
  }

  it("reserves a literal before its buffer, hands it over with the command, refuses what does not fit with NO [LIMIT]", () => {
    const b = budget(5000);
    const r = new CommandReader(LIMITS, { literalPlus: true, budget: b });
    let ev = feed(r, ["a APPEND x {3000}\r\n"]);
    assert.deepEqual(ev, [{ kind: "continue" }]);
    assert.equal(b.used, 3000);
    // another connection of the same budget
    const other = new CommandReader(LIMITS, { literalPlus: true, budget: b });
    const refused = feed(other, ["b APPEND x {3000}\r\nc NOOP\r\n"]);
    assert.deepEqual(refused.map((e) => (e.kind === "error" ? [e.code, e.status] : e.kind)), [["LIMIT", "NO"], "command"]);
    assert.deepEqual(plain(feed(other, [`d APPEND x {3000+}\r\n${"z".repeat(3000)}\r\ne NOOP\r\n`])).map((e) => (e as { kind: string }).kind), ["error", "command"], "{n+} bytes skipped");
    ev = feed(r, ["y".repeat(3000), "\r\n"]);
    assert.equal(ev[0].kind === "command" && ev[0].held, 3000, "the caller releases it after running the command");
    assert.equal(b.used, 3000);
  });

  it("gives back what a failed, unparsable or abandoned command held", () => {
    const b = budget(100_000);
    const r = new CommandReader(LIMITS, { literalPlus: true, budget: b });
    feed(r, [`a APPEND x {2000+}\r\n${"y".repeat(2000)} (unbalanced\r\n`]);
    assert.equal(b.used, 0, "parse error");
    feed(r, [`a APPEND x {2000+}\r\n${"y".repeat(2000)} ${"z".repeat(2000)}\r\n`]);
    assert.equal(b.used, 0, "line too long after the literal");
    feed(r, [`a APPEND x {2000+}\r\n${"y".repeat(100)}`]);
    assert.equal(b.used, 2000);
    r.close();
    assert.equal(b.used, 0, "connection closed mid-literal");
  });
});
