/** The stored container gives every message back byte for byte, base64 parts included. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { indexMessage, normalizeCrlf } from "../../../src/mime/index.ts";
import { decodeListing, decodeMessage, encodeMessage, isPlainContainer } from "../../../src/storage/codec.ts";

const dir = new URL("../../fixtures/mime/", import.meta.url);

function roundTrip(raw: Uint8Array, name: string, compact = true): number {
  const ix = indexMessage(raw);
  const meta = { envelope: ix.envelope, bodyStructure: ix.bodyStructure, body: ix.body, tree: JSON.stringify(ix.root) };
  const stored = encodeMessage(raw, ix.root, meta, { compact });
  assert.equal(isPlainContainer(stored), !compact, `${name}: form`);
  assert.deepEqual(Buffer.from(decodeMessage(stored)), Buffer.from(raw), `${name}: message`);
  const l = decodeListing(stored);
  assert.deepEqual(l.meta, meta, `${name}: listing`);
  assert.deepEqual(Buffer.from(l.header), Buffer.from(raw.subarray(0, ix.root.he)), `${name}: header`);
  return stored.length;
}

test("every fixture round-trips exactly, in the compact and in the plain form", () => {
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".eml"))) {
    const raw = normalizeCrlf(readFileSync(new URL(f, dir)));
    if (!raw.length) continue;
    const compact = roundTrip(raw, f);
    const plain = roundTrip(raw, `${f} (plain)`, false);
    assert.ok(plain >= raw.length, `${f}: the plain form holds the message uncompressed`);
    assert.ok(compact <= plain, `${f}: compact ${compact} <= plain ${plain}`);
  }
});

function b64Message(body: string): Uint8Array {
  return normalizeCrlf(new TextEncoder().encode(
    `From: a@b.test\r\nSubject: att\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\nhi\r\n--XX\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${body}\r\n--XX--\r\n`,
  ));
}

test("canonical base64 is stored decoded, anything else as it is; both come back exactly", () => {
  const data = new Uint8Array(3000).map((_, i) => (i * 7919) % 251);
  const b64 = Buffer.from(data).toString("base64");
  const lines = (n: number) => b64.match(new RegExp(`.{1,${n}}`, "g"))!.join("\r\n");
  const canonicalSize = roundTrip(b64Message(lines(76)), "76-column");
  roundTrip(b64Message(lines(64)), "64-column");
  roundTrip(b64Message(lines(76).replace(/\r\n/, "\r\n\r\n")), "blank line inside");
  roundTrip(b64Message(lines(72) + "\r\n"), "trailing CRLF");
  roundTrip(b64Message(lines(76).slice(0, -3) + "==="), "bad padding");
  roundTrip(b64Message(lines(76).toLowerCase()), "garbage alphabet");
  roundTrip(b64Message(lines(75)), "line length not a multiple of 4");
  roundTrip(b64Message(lines(76).replace(/\+/g, "-").replace(/\//g, "_")), "url-safe alphabet");
  roundTrip(b64Message(lines(76).replace(/^(.{40})/, "$1=")), "padding in the middle");
  roundTrip(b64Message(lines(76).replace(/\r\n(.{20})/, "\r\n $1")), "space inside");
  roundTrip(b64Message(Buffer.from("hello world!!").toString("base64").replace(/=*$/, "") .slice(0, -1) + "R=" + "\r\n" + lines(76)), "short first line");
  // same bytes, non-zero bits under the padding: must stay as written
  const odd = Buffer.from(new Uint8Array(100).fill(7)).toString("base64"); // ends in "Bw=="
  roundTrip(b64Message(lines(76) + "\r\n" + odd.slice(0, -3) + "x=="), "non-zero pad bits");
  assert.ok(canonicalSize < b64.length, "the decoded form is what gets compressed");
});

test("random base64 bodies and random damage always round-trip exactly", () => {
  let x = 12345;
  const rnd = (n: number) => ((x = (x * 1103515245 + 12345) >>> 0) % n);
  const damage = ["=", "-", "_", " ", "\t", "!", "A", "\r\n", "==", "\r\n\r\n", "é"];
  for (let i = 0; i < 400; i++) {
    const data = new Uint8Array(rnd(3000)).map(() => rnd(256));
    let text = Buffer.from(data).toString("base64");
    const width = [76, 72, 64, 60, 76, 76, 75, 4][rnd(8)];
    text = text.match(new RegExp(`.{1,${width}}`, "g"))?.join("\r\n") ?? "";
    if (rnd(2)) {
      const at = rnd(text.length + 1);
      text = text.slice(0, at) + damage[rnd(damage.length)] + text.slice(at);
    }
    if (rnd(3) === 0) text += "\r\n";
    roundTrip(b64Message(text), `case ${i}`);
  }
});
