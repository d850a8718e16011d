/** The listing cache keeps SEARCH TEXT's header text inside its byte budget, warm or made on demand. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ListingCache, searchText } from "../../../src/imap/fetch/listing-cache.ts";
import { ingestOne } from "../../../src/quarantine/ingest.ts";
import { tempStore, type TempStore } from "../../delivery/harness.ts";

let t: TempStore;
const blobs: number[] = [];

before(async () => {
  t = await tempStore();
  for (let i = 0; i < 20; i++) {
    const raw = `Received: from relay${i}.example\r\n\tby MX.Example.ORG (Postfix) id Q${i}\r\nX-Spam-Status: Yes,\r\n  tests=RULE_${i}\r\nSubject: message ${i}\r\n\r\nbody ${i}\r\n`;
    await ingestOne(t.store, { raw: new TextEncoder().encode(raw), recipients: ["alice@example.com"], sender: "s@bad.test" }, { defaultRetentionDays: 14 });
  }
  const r = await t.store.client.execute("SELECT id FROM blobs ORDER BY id");
  for (const row of r.rows) blobs.push(Number(row.id));
});
after(() => t.cleanup());

const bytesOf = (c: ListingCache) => (c as unknown as { bytes: number }).bytes;
const entriesOf = (c: ListingCache) => (c as unknown as { entries: Map<number, { headerText?: string }> }).entries;

test("searchText: UTF-8, unfolded like HEADER (CRLF and the blanks after it: one space), lower-cased", () => {
  const h = new TextEncoder().encode("X-A: Foo\r\n\t  Bar\r\nX-B: Ünïcode\r\n\r\n");
  assert.equal(searchText(h), "x-a: foo bar\r\nx-b: ünïcode\r\n\r\n");
});

test("warm() makes the header text of every cached listing when the budget allows, and counts it", async () => {
  const c = new ListingCache(t.store, 64 * 1024 * 1024);
  await c.warm();
  const entries = entriesOf(c);
  assert.equal(entries.size, blobs.length);
  let text = 0;
  for (const l of entries.values()) {
    assert.ok(l.headerText?.includes("tests=rule_"), "unfolded, lower-cased");
    text += l.headerText!.length;
  }
  const listingsOnly = new ListingCache(t.store, 64 * 1024 * 1024);
  await listingsOnly.get(blobs);
  assert.equal(bytesOf(c), bytesOf(listingsOnly) + text);
});

test("a small budget: warm() stops at it, and header text made later evicts old listings rather than grow", async () => {
  const full = new ListingCache(t.store, 64 * 1024 * 1024);
  await full.get(blobs);
  const budget = Math.floor(bytesOf(full) * 1.15); // every listing fits, not every header text
  const c = new ListingCache(t.store, budget);
  await c.warm();
  assert.ok(bytesOf(c) <= budget);
  const without = [...entriesOf(c)].filter(([, l]) => l.headerText === undefined);
  assert.ok(without.length > 0, "some header text is left to make on demand");
  const got = await c.get(blobs);
  for (const [id, l] of got) assert.equal(c.headerText(id, l), searchText(l.header));
  assert.ok(bytesOf(c) <= budget, `${bytesOf(c)} <= ${budget}`);
  assert.ok(entriesOf(c).size < blobs.length, "older listings made room");
});
