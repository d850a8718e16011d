/** Resolving sequence sets against a view: every message once, in order, however the set is written. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSequenceSet, ProtocolError, type SeqRange } from "../../../src/imap/protocol/index.ts";
import { SelectedMailbox } from "../../../src/imap/session/selected.ts";
import { seqsToUids, uidsInRanges } from "../../../src/imap/session/sequence.ts";
import type { FolderDef } from "../../../src/quarantine/folders.ts";

const view = (uids: number[]) => new SelectedMailbox({} as FolderDef, true, Uint32Array.from(uids), new Map(), 1000, 1, 1);
const set = (s: string) => parseSequenceSet(s) as SeqRange[];

test("UID sets: overlaps, neighbours, reversed ranges and * resolve to each UID once, ascending", () => {
  const sel = view([3, 5, 9, 12, 40]);
  assert.deepEqual(uidsInRanges(sel, set("40,1:5,4:10,*,12:11,100:200")), [3, 5, 9, 12, 40]);
  assert.deepEqual(uidsInRanges(sel, set("6:8,41:*")), [40], "a range naming * includes the highest UID");
  assert.deepEqual(uidsInRanges(view([]), set("1:*")), []);
});

test("sequence numbers: the same, and a number past the end is still an error", () => {
  const sel = view([3, 5, 9, 12, 40]);
  assert.deepEqual(seqsToUids(sel, set("5,1:2,2:3,*")), [3, 5, 9, 40]);
  assert.throws(() => seqsToUids(sel, set("1:2,6")), ProtocolError);
  assert.throws(() => seqsToUids(view([]), set("1:*")), ProtocolError);
});

test("8,000 overlapping copies of 1:* cost one pass over the folder", () => {
  const sel = view(Array.from({ length: 50_000 }, (_, i) => 2 * i + 1));
  const many = set(Array(8000).fill("1:*").join(","));
  const t0 = performance.now();
  assert.equal(uidsInRanges(sel, many).length, 50_000);
  assert.equal(seqsToUids(sel, many).length, 50_000);
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms (was 8,000 passes: 400 million steps)`);
});
