import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  binaryBytes, decodeWords, headerFields, indexMessage, normalizeCrlf, parseDate, sectionBytes,
} from "../../../src/mime/index.ts";

const enc = new TextEncoder(), dec = new TextDecoder();
const b = (s: string) => enc.encode(s);
const fixture = (n: string) =>
  normalizeCrlf(new Uint8Array(readFileSync(new URL(`../../fixtures/mime/${n}.eml`, import.meta.url))));

test("normalizeCrlf: bare LF and CR become CRLF, untouched input is returned as is", () => {
  const same = b("a\r\nb\r\n");
  assert.equal(normalizeCrlf(same), same);
  assert.equal(dec.decode(normalizeCrlf(b("a\nb\rc\r\nd"))), "a\r\nb\r\nc\r\nd");
  assert.equal(normalizeCrlf(new Uint8Array(0)).length, 0);
});

test("part numbering: non-multipart message is part 1, rfc822 parts number into the inner message", () => {
  const raw = fixture("rfc822-single");
  const ix = indexMessage(raw);
  assert.equal(ix.root.c?.length, 2);
  assert.equal(ix.root.c?.[1].t, "message");
  assert.equal(dec.decode(sectionBytes(raw, ix.root, { part: [2, 1] })), "Inner body line 1\r\nInner body line 2");
  assert.match(dec.decode(sectionBytes(raw, ix.root, { part: [2], text: "HEADER" })), /^From: Dave.*\r\n\r\n$/s);
  const plain = fixture("groups");
  const pi = indexMessage(plain);
  assert.equal(dec.decode(sectionBytes(plain, pi.root, { part: [1] })), "body\r\n");
  assert.equal(sectionBytes(plain, pi.root, { part: [2] }).length, 0);
  const multi = fixture("rfc822-multipart");
  const mi = indexMessage(multi);
  assert.equal(dec.decode(sectionBytes(multi, mi.root, { part: [2, 2] })), "<p>Cafe</p>");
});

test("HEADER.FIELDS keeps folded lines, is case-insensitive and ends with CRLF", () => {
  const h = b("Subject: a\r\n b\r\nX-A: 1\r\nsubject: c\r\n\r\n");
  assert.equal(dec.decode(headerFields(h, ["SUBJECT"], false)), "Subject: a\r\n b\r\nsubject: c\r\n\r\n");
  assert.equal(dec.decode(headerFields(h, ["subject"], true)), "X-A: 1\r\n\r\n");
  assert.equal(dec.decode(headerFields(h, ["nothing"], false)), "\r\n");
});

test("BINARY decodes base64/QP and reports unknown encodings", () => {
  const raw = fixture("alt");
  const ix = indexMessage(raw);
  assert.match(dec.decode(binaryBytes(raw, ix.root, [1]) as Uint8Array), /Grüße aus Zürich\. This line is soft wrapped\./);
  const p = fixture("params");
  assert.equal(binaryBytes(p, indexMessage(p).root, [2]), null);
});

test("search fields are RFC 2047 decoded; date is epoch ms", () => {
  const ix = indexMessage(fixture("encoded-words"));
  assert.equal(ix.fields.subject, "Grüße und Küsse continued   with  spaces");
  assert.match(ix.fields.from, /^Jürgen Müller <juergen@example.de>$/);
  assert.match(ix.fields.to, /François/);
  assert.equal(ix.fields.messageId, "<ew1@example.de>");
  assert.equal(ix.fields.date, Date.UTC(2026, 10, 4, 12, 0, 0));
  assert.equal(parseDate("Tue, 3 Nov 2026 10:15:00 +0100"), Date.UTC(2026, 10, 3, 9, 15, 0));
  assert.equal(parseDate("garbage"), null);
  assert.equal(indexMessage(fixture("missing-headers")).fields.date, null);
  assert.equal(decodeWords("=?KOI8-R?B?8NLJ18XU?="), "Привет");
});

test("text: legacy charsets, QP/base64 and HTML are decoded", () => {
  assert.match(indexMessage(fixture("win1252")).text, /10€ – “quoted” café/);
  assert.match(indexMessage(fixture("iso8859-2")).text, /Zażółć gęślą jaźń/);
  assert.match(indexMessage(fixture("koi8r")).text, /Привет, мир!/);
  const alt = indexMessage(fixture("alt")).text;
  assert.match(alt, /Hello Bob ?, ?Grüße & more/);
  assert.doesNotMatch(alt, /<b>/);
});

test("malformed input never throws", () => {
  const cases = [
    "", "\r\n", "no header at all", "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n--x\r\n--x--",
    "Content-Type: message/rfc822\r\n\r\n", "From: \0\0\0\r\n\r\n\0", "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
    "Subject: =?utf-8?B?####?=\r\nFrom: <<<@@@>>> ((( \"\r\n\r\n", "Content-Type: text/plain; charset=nonsense-cs\r\n\r\n\xff",
  ];
  for (const c of cases) {
    const ix = indexMessage(normalizeCrlf(b(c)));
    assert.equal(typeof ix.bodyStructure, "string");
    sectionBytes(b(c), ix.root, { part: [1, 2, 3], text: "HEADER" });
  }
  // random bytes
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256);
  const alphabet = b("-\r\n:;=\"<>@,()boundary Content-Type multipart/mixed message/rfc822 ");
  for (let i = 0; i < 300; i++) {
    const n = rnd() * 4;
    const a = new Uint8Array(n);
    for (let j = 0; j < n; j++) a[j] = rnd() < 200 ? alphabet[rnd() % alphabet.length] : rnd();
    const ix = indexMessage(normalizeCrlf(a));
    assert.equal(typeof ix.envelope, "string");
  }
});

test("deep nesting is capped like Dovecot (application/octet-stream past 100 levels)", () => {
  const ix = indexMessage(fixture("deep-nesting"));
  let d = 0;
  for (let n = ix.root; n.c !== undefined && n.c.length > 0; n = n.c[0]) d++;
  assert.ok(d < 100);
  assert.match(ix.bodyStructure, /"application" "octet-stream"/);
});

test("huge header and NUL bytes", () => {
  const ix = indexMessage(fixture("huge-header"));
  assert.ok(ix.envelope.length > 40000);
  const nul = fixture("nul-bytes");
  const ni = indexMessage(nul);
  assert.ok(sectionBytes(nul, ni.root, { part: [1] }).indexOf(0) < 0); // NUL → 0x80 like Dovecot
});

test("indexing is fast (15 KB message well under 1 ms)", () => {
  const raw = fixture("bench-000002");
  for (let i = 0; i < 50; i++) indexMessage(raw);
  const t0 = performance.now();
  for (let i = 0; i < 200; i++) indexMessage(raw);
  const per = (performance.now() - t0) / 200;
  assert.ok(per < 2, `${per.toFixed(3)} ms per message`); // generous: shared, loaded CI machines
});
