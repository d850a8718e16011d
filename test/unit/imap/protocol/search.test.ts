import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError, parseSearch, SEARCH_LIMITS, type SearchKey } from "../../../../src/imap/protocol/index.ts";
import { args, enc, reader } from "./helpers.ts";

const key = (s: string): SearchKey => parseSearch(args(`SEARCH ${s}`)).key;

describe("parseSearch: every RFC 3501 §6.4.4 key", () => {
  const cases: [string, SearchKey][] = [
    ["1:3,5", { k: "seq", set: [[1, 3], [5, 5]] }],
    ["ALL", { k: "all" }],
    ["ANSWERED", { k: "flag", flag: "\\Answered", set: true }],
    ['BCC "bob@x"', { k: "header", field: "bcc", value: "bob@x" }],
    ["BEFORE 1-Feb-2026", { k: "date", which: "internal", op: "before", y: 2026, m: 2, d: 1 }],
    ["BODY hello", { k: "body", value: "hello" }],
    ["CC carol", { k: "header", field: "cc", value: "carol" }],
    ["DELETED", { k: "flag", flag: "\\Deleted", set: true }],
    ["DRAFT", { k: "flag", flag: "\\Draft", set: true }],
    ["FLAGGED", { k: "flag", flag: "\\Flagged", set: true }],
    ["FROM alice", { k: "header", field: "from", value: "alice" }],
    ['HEADER X-Spam-Flag "YES"', { k: "header", field: "x-spam-flag", value: "YES" }],
    ["KEYWORD $Junk", { k: "flag", flag: "$Junk", set: true }],
    ["LARGER 1024", { k: "size", op: "larger", n: 1024 }],
    ["NEW", { k: "and", keys: [{ k: "flag", flag: "\\Recent", set: true }, { k: "flag", flag: "\\Seen", set: false }] }],
    ["NOT SEEN", { k: "not", key: { k: "flag", flag: "\\Seen", set: true } }],
    ["OLD", { k: "flag", flag: "\\Recent", set: false }],
    ['ON "01-Mar-2026"', { k: "date", which: "internal", op: "on", y: 2026, m: 3, d: 1 }],
    ["OR SEEN FLAGGED", { k: "or", a: { k: "flag", flag: "\\Seen", set: true }, b: { k: "flag", flag: "\\Flagged", set: true } }],
    ["RECENT", { k: "flag", flag: "\\Recent", set: true }],
    ["SEEN", { k: "flag", flag: "\\Seen", set: true }],
    ["SENTBEFORE 1-jan-2026", { k: "date", which: "sent", op: "before", y: 2026, m: 1, d: 1 }],
    ["SENTON 29-Feb-2024", { k: "date", which: "sent", op: "on", y: 2024, m: 2, d: 29 }],
    ["SENTSINCE 31-Dec-2025", { k: "date", which: "sent", op: "since", y: 2025, m: 12, d: 31 }],
    ["SINCE 15-Jun-2026", { k: "date", which: "internal", op: "since", y: 2026, m: 6, d: 15 }],
    ["SMALLER 99", { k: "size", op: "smaller", n: 99 }],
    ['SUBJECT "Grüße"', { k: "header", field: "subject", value: "Grüße" }],
    ["TEXT viagra", { k: "text", value: "viagra" }],
    ["TO dave", { k: "header", field: "to", value: "dave" }],
    ["UID 5:*", { k: "uid", set: [[5, 0xffffffff]] }],
    ["UNANSWERED", { k: "flag", flag: "\\Answered", set: false }],
    ["UNDELETED", { k: "flag", flag: "\\Deleted", set: false }],
    ["UNDRAFT", { k: "flag", flag: "\\Draft", set: false }],
    ["UNFLAGGED", { k: "flag", flag: "\\Flagged", set: false }],
    ["UNKEYWORD $NotJunk", { k: "flag", flag: "$NotJunk", set: false }],
    ["UNSEEN", { k: "flag", flag: "\\Seen", set: false }],
    ["(SEEN)", { k: "flag", flag: "\\Seen", set: true }],
    ["MODSEQ 620162338", { k: "modseq", n: 620162338n }],
    ['MODSEQ "/flags/\\\\draft" all 620162338', { k: "modseq", n: 620162338n }],
    ["$", { k: "seq", set: "$" }],
    ["UID $", { k: "uid", set: "$" }],
  ];
  for (const [src, want] of cases) {
    it(src, () => assert.deepEqual(key(src), want));
  }
});

describe("parseSearch: structure", () => {
  it("top-level keys are ANDed, lists group", () => {
    assert.deepEqual(key("SEEN (FROM a TO b) 1:2"), {
      k: "and",
      keys: [
        { k: "flag", flag: "\\Seen", set: true },
        { k: "and", keys: [{ k: "header", field: "from", value: "a" }, { k: "header", field: "to", value: "b" }] },
        { k: "seq", set: [[1, 2]] },
      ],
    });
  });

  it("nested OR and NOT", () => {
    assert.deepEqual(key("OR NOT OR SEEN DELETED (NOT FROM x LARGER 5)"), {
      k: "or",
      a: { k: "not", key: { k: "or", a: { k: "flag", flag: "\\Seen", set: true }, b: { k: "flag", flag: "\\Deleted", set: true } } },
      b: { k: "and", keys: [{ k: "not", key: { k: "header", field: "from", value: "x" } }, { k: "size", op: "larger", n: 5 }] },
    });
    const two = key("OR NOT OR SEEN DELETED (NOT FROM x LARGER 5) NOT NOT DRAFT");
    assert.equal(two.k, "and");
    assert.deepEqual(two.k === "and" && two.keys[1], { k: "not", key: { k: "not", key: { k: "flag", flag: "\\Draft", set: true } } });
  });

  it("literal search strings are UTF-8", () => {
    const a = args("SEARCH CHARSET UTF-8 SUBJECT {6+}\r\nGrüß");
    assert.deepEqual(parseSearch(a), { charset: "UTF-8", key: { k: "header", field: "subject", value: "Grüß" } });
  });

  it("CHARSET: US-ASCII and utf-8 accepted; others give BADCHARSET", () => {
    assert.equal(parseSearch(args("SEARCH CHARSET us-ascii ALL")).charset, "US-ASCII");
    assert.equal(parseSearch(args('SEARCH CHARSET "utf-8" ALL')).charset, "UTF-8");
    assert.throws(() => parseSearch(args("SEARCH CHARSET KOI8-R ALL")), (e: unknown) => e instanceof ProtocolError && e.code === "BADCHARSET");
  });

  it("ESEARCH RETURN options", () => {
    assert.deepEqual(parseSearch(args("SEARCH RETURN (MIN MAX COUNT) UNSEEN")).ret, { min: true, max: true, count: true });
    assert.deepEqual(parseSearch(args("SEARCH RETURN (SAVE) CHARSET UTF-8 ALL")).ret, { save: true });
    assert.deepEqual(parseSearch(args("SEARCH RETURN () ALL")).ret, { all: true });
    assert.throws(() => parseSearch(args("SEARCH RETURN (PARTIAL) ALL")), ProtocolError);
  });

  it("rejects bad input", () => {
    for (const bad of ["", "FROM", "BEFORE 32-Jan-2026", "SINCE 1-Foo-2026", "LARGER -1", "LARGER x", "BOGUS",
      "OR SEEN", "NOT", "()", "UID 0", "KEYWORD \\Seen", "MODSEQ x", "1:x", "HEADER", "SUBJECT (a)", "SENTON 29-Feb-2026"]) {
      assert.throws(() => parseSearch(args(`SEARCH ${bad}`)), ProtocolError, bad);
    }
  });

  it("deep NOT chains stop at a limit instead of overflowing the stack", () => {
    assert.throws(() => parseSearch(args(`SEARCH ${"NOT ".repeat(200)}SEEN`)), ProtocolError);
  });
});

describe("parseSearch: implementation limits (NO [LIMIT])", () => {
  const limited = (e: unknown) => e instanceof ProtocolError && e.code === "LIMIT";
  /** lines longer than the helpers' reader takes */
  const long = { maxLineBytes: 1 << 20, maxLiteralBytes: 1 << 20, maxCommandBytes: 1 << 21, maxDepth: 8 };
  const parse = (line: string) => {
    const [ev] = reader({ literalPlus: true }, long).push(enc.encode(`t SEARCH ${line}\r\n`));
    assert.equal(ev.kind, "command");
    return parseSearch(ev.kind === "command" ? ev.args : []);
  };
  const key = (line: string) => parse(line).key;

  it("search keys, NOT / OR / lists included", () => {
    assert.equal((key(`${"ALL ".repeat(999)}SEEN`) as { keys: unknown[] }).keys.length, SEARCH_LIMITS.keys);
    assert.throws(() => key(`${"ALL ".repeat(1000)}SEEN`), limited);
    assert.throws(() => key(`${"(NOT SEEN) ".repeat(334)}`), limited, "the count runs through nested lists");
  });

  it("keys that take a string", () => {
    assert.doesNotThrow(() => key("FROM a ".repeat(SEARCH_LIMITS.strings)));
    assert.throws(() => key(`${"FROM a ".repeat(SEARCH_LIMITS.strings)}HEADER X-A b`), limited);
    assert.throws(() => key(`${"TEXT a ".repeat(SEARCH_LIMITS.strings)}BODY b`), limited);
  });

  it("bytes of one search string, literal or not", () => {
    const max = "x".repeat(SEARCH_LIMITS.stringBytes);
    assert.deepEqual(key(`TEXT ${max}`), { k: "text", value: max });
    assert.throws(() => key(`TEXT ${max}y`), limited);
    assert.throws(() => parse(`SUBJECT {1025+}\r\n${"ü".repeat(512)}x`), limited, "UTF-8 bytes, not characters");
    assert.throws(() => key(`HEADER ${max}y z`), limited, "header names too");
  });
});
