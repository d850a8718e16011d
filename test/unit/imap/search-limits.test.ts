/** SEARCH work that must stay bounded whatever the client sends: word-index queries and substring tests. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TERM_WORDS, queryWords } from "../../../src/imap/search/cache.ts";
import { NATIVE_MAX, substringTest } from "../../../src/imap/search/substring.ts";
import { ProtocolError } from "../../../src/imap/protocol/index.ts";

test("queryWords: each word once, lower-cased, and none that another word starts with", () => {
  assert.deepEqual(queryWords("Zanzibar, zanzib ZAN fjord"), ["zanzibar", "fjord"]);
  assert.deepEqual(queryWords("ab ".repeat(20_000)), ["ab"], "80,000 words of one kind are one query word");
  assert.deepEqual(queryWords("-- !! --"), []);
  assert.deepEqual(queryWords("köln koln"), ["köln", "koln"], "accents are folded by the index, not here");
});

test("queryWords: past MAX_TERM_WORDS distinct words, LIMIT", () => {
  const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i.toString(36)}x`).join(" ");
  assert.equal(queryWords(words(MAX_TERM_WORDS)).length, MAX_TERM_WORDS);
  assert.throws(() => queryWords(words(MAX_TERM_WORDS + 1)), (e: unknown) => e instanceof ProtocolError && e.code === "LIMIT");
  assert.throws(() => queryWords(words(5000)), (e: unknown) => e instanceof ProtocolError && e.code === "LIMIT");
});

test("substringTest agrees with includes() for short and long search strings", () => {
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const str = (n: number, alphabet: string) => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join("");
  for (let i = 0; i < 300; i++) {
    const text = str(rnd(3000), "ab");
    const needle = rnd(2) ? text.slice(rnd(text.length + 1)).slice(0, 100 + rnd(400)) : str(NATIVE_MAX + rnd(300), "ab");
    assert.equal(substringTest(needle)(text), text.includes(needle), `${needle.length} in ${text.length}`);
  }
  assert.equal(substringTest("x".repeat(500))("x".repeat(499)), false);
  assert.equal(substringTest("")("anything"), true);
});

test("a long search string made to match almost everywhere costs linear time (was seconds)", () => {
  // "aaa…`baaa…" has the character sum of "aaa…": engines that compare again at each position
  // take 0.4 s (Bun) to 0.5 s (Deno) for these 2 MB; KMP takes milliseconds.
  const text = "a".repeat(2 * 1024 * 1024);
  const needle = "a".repeat(511) + "`b" + "a".repeat(511);
  const has = substringTest(needle);
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) assert.equal(has(text), false);
  const ms = performance.now() - t0;
  assert.ok(ms < 800, `${ms.toFixed(0)} ms for 4 scans of 2 MB`);
});
