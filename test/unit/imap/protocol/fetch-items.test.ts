import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError, parseFetchItems } from "../../../../src/imap/protocol/index.ts";
import { args } from "./helpers.ts";

const items = (s: string) => parseFetchItems(args(`FETCH 1 ${s}`).slice(1));

describe("parseFetchItems", () => {
  it("macros", () => {
    assert.deepEqual(items("ALL").items.map((i) => i.kind), ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]);
    assert.deepEqual(items("fast").items.map((i) => i.kind), ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]);
    assert.deepEqual(items("FULL").items.map((i) => i.kind), ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]);
    assert.throws(() => items("(ALL)"), ProtocolError);
  });

  it("simple items, single or in a list", () => {
    assert.deepEqual(items("uid").items, [{ kind: "UID" }]);
    const all = "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY MODSEQ RFC822 RFC822.HEADER RFC822.TEXT EMAILID THREADID";
    assert.deepEqual(items(`(${all})`).items.map((i) => i.kind), all.split(" "));
  });

  it("BODY[] sections", () => {
    const cases: [string, object][] = [
      ["BODY[]", { kind: "BODY[]", peek: false, section: { part: [] }, label: "BODY[]" }],
      ["BODY.PEEK[]", { kind: "BODY[]", peek: true, section: { part: [] }, label: "BODY[]" }],
      ["BODY.PEEK[TEXT]", { kind: "BODY[]", peek: true, section: { part: [], text: "TEXT" }, label: "BODY[TEXT]" }],
      ["body[header]", { kind: "BODY[]", peek: false, section: { part: [], text: "HEADER" }, label: "BODY[HEADER]" }],
      ["BODY[1.2]", { kind: "BODY[]", peek: false, section: { part: [1, 2] }, label: "BODY[1.2]" }],
      ["BODY[1.2.MIME]", { kind: "BODY[]", peek: false, section: { part: [1, 2], text: "MIME" }, label: "BODY[1.2.MIME]" }],
      ["BODY[3.HEADER]", { kind: "BODY[]", peek: false, section: { part: [3], text: "HEADER" }, label: "BODY[3.HEADER]" }],
      ["BODY.PEEK[HEADER.FIELDS (From To)]", {
        kind: "BODY[]", peek: true, section: { part: [], text: "HEADER.FIELDS", fields: ["From", "To"] },
        label: "BODY[HEADER.FIELDS (From To)]",
      }],
      ['BODY[2.HEADER.FIELDS.NOT ("Received" X-Spam)]', {
        kind: "BODY[]", peek: false, section: { part: [2], text: "HEADER.FIELDS.NOT", fields: ["Received", "X-Spam"] },
        label: "BODY[2.HEADER.FIELDS.NOT (Received X-Spam)]",
      }],
    ];
    for (const [src, want] of cases) assert.deepEqual(items(src).items, [want], src);
  });

  it("partials are answered as <start>", () => {
    const [a] = items("BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>").items;
    assert.deepEqual(a, {
      kind: "BODY[]", peek: true, section: { part: [], text: "HEADER.FIELDS", fields: ["From", "To"] },
      partial: { start: 0, length: 2048 }, label: "BODY[HEADER.FIELDS (From To)]<0>",
    });
    const [b] = items("BODY[]<100.50>").items;
    assert.equal(b.kind === "BODY[]" && b.label, "BODY[]<100>");
    assert.deepEqual(b.kind === "BODY[]" && b.partial, { start: 100, length: 50 });
  });

  it("BINARY and BINARY.SIZE", () => {
    assert.deepEqual(items("(BINARY.PEEK[1]<0.10> BINARY[] BINARY.SIZE[2.1])").items, [
      { kind: "BINARY[]", peek: true, part: [1], partial: { start: 0, length: 10 }, label: "BINARY[1]<0>" },
      { kind: "BINARY[]", peek: false, part: [], label: "BINARY[]" },
      { kind: "BINARY.SIZE", part: [2, 1], label: "BINARY.SIZE[2.1]" },
    ]);
  });

  it("several items with sections in one list", () => {
    const r = items("(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)] BODY.PEEK[1]<0.100> FLAGS)");
    assert.deepEqual(r.items.map((i) => ("label" in i ? i.label : i.kind)), [
      "UID", "RFC822.SIZE", "BODY[HEADER.FIELDS (DATE FROM SUBJECT)]", "BODY[1]<0>", "FLAGS",
    ]);
  });

  it("CHANGEDSINCE and VANISHED modifiers", () => {
    assert.deepEqual(items("(FLAGS) (CHANGEDSINCE 12345)"), { items: [{ kind: "FLAGS" }], changedSince: 12345n });
    assert.deepEqual(items("(FLAGS) (CHANGEDSINCE 9223372036854775807 VANISHED)"),
      { items: [{ kind: "FLAGS" }], changedSince: 9223372036854775807n, vanished: true });
    assert.throws(() => items("(FLAGS) (VANISHED)"), ProtocolError);
    assert.throws(() => items("(FLAGS) (CHANGEDSINCE 9223372036854775808)"), ProtocolError);
    assert.throws(() => items("(FLAGS) (FOO 1)"), ProtocolError);
  });

  it("rejects bad items", () => {
    for (const bad of ["BOGUS", "()", "BODY[0]", "BODY[1.]", "BODY[MIME]", "BODY[TEXT.1]", "BODY[]<0>", "BODY[]<0.0>",
      "BODY[HEADER.FIELDS ()]", "BODY[HEADER.FIELDS (A:B)]", "BINARY[TEXT]", "BINARY.SIZE[1]<0.1>", '"FLAGS"', "BODY[HEADER.FIELDS]"]) {
      assert.throws(() => items(bad), ProtocolError, bad);
    }
  });
});
