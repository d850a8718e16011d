import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError, listMatch, parseListArgs, parseStatusItems, parseStoreArgs } from "../../../../src/imap/protocol/index.ts";
import { args } from "./helpers.ts";

describe("parseStoreArgs", () => {
  const store = (s: string) => parseStoreArgs(args(`STORE 1:2 ${s}`).slice(1));

  it("modes, SILENT, lists and bare flags", () => {
    assert.deepEqual(store("+FLAGS (\\Seen \\Flagged)"), { mode: "add", silent: false, flags: ["\\Seen", "\\Flagged"] });
    assert.deepEqual(store("-flags.silent \\Deleted"), { mode: "remove", silent: true, flags: ["\\Deleted"] });
    assert.deepEqual(store("FLAGS ()"), { mode: "set", silent: false, flags: [] });
    assert.deepEqual(store("FLAGS $Junk \\Seen"), { mode: "set", silent: false, flags: ["$Junk", "\\Seen"] });
  });

  it("UNCHANGEDSINCE", () => {
    assert.deepEqual(store("(UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"),
      { mode: "add", silent: true, flags: ["\\Deleted"], unchangedSince: 320162338n });
  });

  it("rejects bad input", () => {
    for (const bad of ["FLAGS", "+FLAG (\\Seen)", "FLAGS (\\Seen) extra", "FLAGS ((a))", 'FLAGS ("a")', "(FOO 1) FLAGS a", "FLAGS (a%)", ""]) {
      assert.throws(() => store(bad), ProtocolError, bad);
    }
  });
});

describe("parseListArgs", () => {
  const list = (s: string) => parseListArgs(args(`LIST ${s}`));

  it("basic and LSUB-style", () => {
    assert.deepEqual(list('"" "*"'), { reference: "", patterns: ["*"], selection: [], returnOpts: {} });
    assert.deepEqual(list('"" ""'), { reference: "", patterns: [""], selection: [], returnOpts: {} });
    assert.deepEqual(list("~/Mail/ %"), { reference: "~/Mail/", patterns: ["%"], selection: [], returnOpts: {} });
    assert.deepEqual(list('"" {4+}\r\nJunk'), { reference: "", patterns: ["Junk"], selection: [], returnOpts: {} });
  });

  it("LIST-EXTENDED, SPECIAL-USE, LIST-STATUS", () => {
    assert.deepEqual(list('(SUBSCRIBED RECURSIVEMATCH) "" (INBOX "Junk/%") RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES unseen))'), {
      reference: "", patterns: ["INBOX", "Junk/%"], selection: ["SUBSCRIBED", "RECURSIVEMATCH"],
      returnOpts: { children: true, subscribed: true, specialUse: true, status: ["MESSAGES", "UNSEEN"] },
    });
    assert.deepEqual(list('"" "*" RETURN ()').returnOpts, {});
  });

  it("rejects bad input", () => {
    for (const bad of ['""', '(BOGUS) "" *', '(RECURSIVEMATCH) "" *', '"" * RETURN (BOGUS)', '"" * RETURN', '"" * EXTRA (x)', '"" ()', '"" * RETURN (STATUS)']) {
      assert.throws(() => list(bad), ProtocolError, bad);
    }
  });

  it("parseStatusItems", () => {
    const [, items] = args("STATUS Junk (messages RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE DELETED APPENDLIMIT)");
    assert.deepEqual(parseStatusItems(items), ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED", "APPENDLIMIT"]);
    assert.throws(() => parseStatusItems(args("STATUS x (BOGUS)")[1]), ProtocolError);
    assert.throws(() => parseStatusItems(args("STATUS x ()")[1]), ProtocolError);
    assert.throws(() => parseStatusItems(args("STATUS x MESSAGES")[1]), ProtocolError);
  });
});

describe("listMatch", () => {
  it("* and % wildcards", () => {
    assert.ok(listMatch("*", "Junk/2026/Jan", "/"));
    assert.ok(listMatch("%", "Junk", "/"));
    assert.ok(!listMatch("%", "Junk/2026", "/"));
    assert.ok(listMatch("Junk/%", "Junk/2026", "/"));
    assert.ok(!listMatch("Junk/%", "Junk/2026/Jan", "/"));
    assert.ok(listMatch("Junk/*", "Junk/2026/Jan", "/"));
    assert.ok(listMatch("J*n", "Junk/2026/Jan", "/"));
    assert.ok(!listMatch("J%n", "Junk/2026/Jan", "/"));
    assert.ok(listMatch("%/%/Jan", "Junk/2026/Jan", "/"));
    assert.ok(listMatch("", "", "/"));
    assert.ok(!listMatch("", "Junk", "/"));
  });

  it("case-sensitive, except INBOX", () => {
    assert.ok(!listMatch("junk", "Junk", "/"));
    assert.ok(listMatch("inbox", "INBOX", "/"));
    assert.ok(listMatch("Inbox/%", "INBOX/Sub", "/"));
    assert.ok(listMatch("INBOX", "inbox", "/"));
    assert.ok(!listMatch("INBOXES", "inboxes", "/"));
    assert.ok(listMatch("in*", "INBOX", "/") === false);
  });

  it("no exponential blow-up", () => {
    const t = Date.now();
    assert.ok(!listMatch("*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(200), "/"));
    assert.ok(Date.now() - t < 500);
  });
});
