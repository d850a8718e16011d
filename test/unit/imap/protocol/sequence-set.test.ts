import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProtocolError, STAR, parseSequenceSet, seqSetToString } from "../../../../src/imap/protocol/index.ts";

describe("sequence sets", () => {
  it("parses singles, ranges, lists and *", () => {
    assert.deepEqual(parseSequenceSet("1"), [[1, 1]]);
    assert.deepEqual(parseSequenceSet("1:*"), [[1, STAR]]);
    assert.deepEqual(parseSequenceSet("*"), [[STAR, STAR]]);
    assert.deepEqual(parseSequenceSet("*:4"), [[4, STAR]]);
    assert.deepEqual(parseSequenceSet("4:2"), [[2, 4]]);
    assert.deepEqual(parseSequenceSet("1,3:5,7"), [[1, 1], [3, 5], [7, 7]]);
    assert.deepEqual(parseSequenceSet("4294967295"), [[4294967295, 4294967295]]);
  });

  it("$ only when allowed", () => {
    assert.equal(parseSequenceSet("$", { allowDollar: true }), "$");
    assert.throws(() => parseSequenceSet("$"), ProtocolError);
  });

  it("rejects garbage", () => {
    for (const bad of ["", "0", "01", "1:", ":1", "1,,2", "1:2:3", "a", "-1", "4294967296", "1 2", "1,"]) {
      assert.throws(() => parseSequenceSet(bad), ProtocolError, bad);
    }
  });

  it("seqSetToString merges adjacent ranges and keeps order", () => {
    assert.equal(seqSetToString([[1, 1], [2, 2], [3, 5], [7, 7]]), "1:5,7");
    assert.equal(seqSetToString([[9, 9], [3, 3], [4, 4]]), "9,3:4");
    assert.equal(seqSetToString([[5, STAR]]), "5:*");
    assert.equal(seqSetToString([]), "");
    assert.equal(seqSetToString(parseSequenceSet("1,3:5,7") as [number, number][]), "1,3:5,7");
  });
});
