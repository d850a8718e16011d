import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ProtocolError, astring, clientText, decodeMutf7, encodeMutf7, formatInternalDate, literalBytes, nstring, parseAppendDate,
  parseDateArg, quoteString,
} from "../../../../src/imap/protocol/index.ts";
import { args, dec, enc } from "./helpers.ts";

describe("mUTF-7", () => {
  const pairs: [string, string][] = [
    ["INBOX", "INBOX"],
    ["Entwürfe", "Entw&APw-rfe"],
    ["&", "&-"],
    ["Tom & Jerry", "Tom &- Jerry"],
    ["日本語", "&ZeVnLIqe-"],
    ["~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"],
    ["Gelöschte Elemente", "Gel&APY-schte Elemente"],
    ["Корзина", "&BBoEPgRABDcEOAQ9BDA-"],
    ["😀 mail", "&2D3eAA- mail"],
    ["", ""],
  ];
  for (const [utf, m7] of pairs) {
    it(`${utf} ↔ ${m7}`, () => {
      assert.equal(encodeMutf7(utf), m7);
      assert.equal(decodeMutf7(m7), utf);
    });
  }

  it("round-trips every BMP block sample and astral characters", () => {
    let s = "";
    for (let c = 0x20; c < 0xd800; c += 97) s += String.fromCharCode(c);
    s += "𝄞x&y\u00e9\u{1f600}";
    assert.equal(decodeMutf7(encodeMutf7(s)), s);
  });

  it("rejects malformed input", () => {
    for (const bad of ["&", "&AAA", "Entw&APw", "&A-", "&AGE-", "&APw-&APw-", "&ZeVnLIqe=-", "ü", "&2D0-", "&3gA-", "a\tb"]) {
      assert.throws(() => decodeMutf7(bad), ProtocolError, bad);
    }
  });
});

describe("astring / quoteString / nstring / literalBytes", () => {
  it("astring decodes atoms, quoted strings and literals; rejects lists", () => {
    const [a, q, l, list] = args('X INBOX "Not Spam" {6+}\r\nGrüß (a)');
    assert.equal(astring(a), "INBOX");
    assert.equal(astring(q), "Not Spam");
    assert.equal(astring(l), "Grüß");
    assert.throws(() => astring(list), ProtocolError);
    assert.throws(() => astring(undefined), ProtocolError);
    assert.throws(() => astring({ t: "string", v: Uint8Array.of(0xff, 0xfe), literal: true }), ProtocolError);
  });

  it("quoteString escapes, or falls back to a literal", () => {
    assert.equal(quoteString("plain"), '"plain"');
    assert.equal(quoteString('a "b" \\c'), '"a \\"b\\" \\\\c"');
    assert.equal(quoteString(""), '""');
    assert.equal(quoteString("two\r\nlines"), "{10}\r\ntwo\r\nlines");
    assert.equal(quoteString("Grüße"), "{7}\r\nGrüße");
    assert.equal(quoteString("nul\0"), "{4}\r\nnul\0");
  });

  it("nstring", () => {
    assert.equal(nstring(null), "NIL");
    assert.equal(nstring("x"), '"x"');
  });

  it("literalBytes does not copy the body", () => {
    const body = enc.encode("hello\r\n");
    const [head, b] = literalBytes(body);
    assert.equal(dec.decode(head), "{7}\r\n");
    assert.equal(b, body);
  });
});

describe("dates", () => {
  it("formatInternalDate", () => {
    assert.equal(formatInternalDate(Date.UTC(2026, 10, 27, 18, 36, 18)), "27-Nov-2026 18:36:18 +0000");
    assert.equal(formatInternalDate(Date.UTC(2026, 0, 5, 3, 4, 5)), "05-Jan-2026 03:04:05 +0000");
  });

  it("parseDateArg", () => {
    assert.deepEqual(parseDateArg("1-Jan-2026"), { y: 2026, m: 1, d: 1 });
    assert.deepEqual(parseDateArg("01-jan-2026"), { y: 2026, m: 1, d: 1 });
    assert.deepEqual(parseDateArg("29-Feb-2024"), { y: 2024, m: 2, d: 29 });
    for (const bad of ["29-Feb-2026", "0-Jan-2026", "1-Jan-26", "1 Jan 2026", "1-January-2026", "32-Dec-2026", ""]) {
      assert.throws(() => parseDateArg(bad), ProtocolError, bad);
    }
  });

  it("parseAppendDate", () => {
    assert.equal(parseAppendDate("27-Nov-2026 18:36:18 +0000"), Date.UTC(2026, 10, 27, 18, 36, 18));
    assert.equal(parseAppendDate(" 7-Nov-2026 18:36:18 +0100"), Date.UTC(2026, 10, 7, 17, 36, 18));
    assert.equal(parseAppendDate("07-Nov-2026 18:36:18 -0230"), Date.UTC(2026, 10, 7, 21, 6, 18));
    for (const bad of ["27-Nov-2026 18:36:18", "27-Nov-2026 24:00:00 +0000", "27-Nov-2026 18:36 +0000", "31-Nov-2026 00:00:00 +0000"]) {
      assert.throws(() => parseAppendDate(bad), ProtocolError, bad);
    }
    // Round trip with the INTERNALDATE format.
    const t = Date.UTC(2026, 1, 3, 4, 5, 6);
    assert.equal(parseAppendDate(formatInternalDate(t)), t);
  });
});

describe("client input in error replies", () => {
  it("clientText: 64 characters, then ...; only printable ASCII", () => {
    assert.equal(clientText("abc"), "abc");
    assert.equal(clientText("x".repeat(64)), "x".repeat(64));
    assert.equal(clientText("x".repeat(65)), `${"x".repeat(64)}...`);
    assert.equal(clientText("a\r\n* BYE\x00ü"), "a??* BYE??");
  });

  it("a ProtocolError message is one printable line of at most 200 characters, whatever built it", () => {
    assert.equal(new ProtocolError("Invalid x").message, "Invalid x");
    const e = new ProtocolError(`Invalid: ${"y".repeat(10_000)}\r\n`);
    assert.equal(e.message, `Invalid: ${"y".repeat(191)}...`);
    assert.doesNotMatch(e.message, /[\r\n]/);
  });
});
