// Compares our output with answers recorded from Dovecot 2.3.19.1 (scripts/make-mime-golden.py).
// Deliberate differences (also in src/mime/README.md):
//  - 8bit-latin1-header ENVELOPE: raw non-UTF-8 header bytes come out as U+FFFD (our ENVELOPE is a JS string),
//    so the literal length differs; Dovecot sends the raw byte.
//  - BINARY[n] of a multipart or message/rfc822 part: Dovecot decodes the leaves inside and rewrites their
//    Content-Transfer-Encoding to "binary"; we return the part unchanged.
//  - BINARY literals: Dovecot uses literal8 (~{n}) when it decoded something; framing is the caller's job.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { binaryBytes, indexMessage, normalizeCrlf, sectionBytes, type SectionSpec } from "../../../src/mime/index.ts";
import { KNOWN_DIFFERENCES } from "../../fixtures/mime/known-differences.ts";

const dir = new URL("../../fixtures/mime/", import.meta.url);
const KNOWN = KNOWN_DIFFERENCES;
const dec = new TextDecoder();
const lit = (b: Uint8Array) => `{${b.length}}\r\n${dec.decode(b)}`;

type Gold = { text?: string; b64?: string; error?: string };
function want(v: Gold): string {
  if (v.error !== undefined) return v.error.includes("UNKNOWN-CTE") ? "UNKNOWN-CTE" : "ERROR";
  const s = v.text ?? dec.decode(Uint8Array.from(atob(v.b64 as string), (c) => c.charCodeAt(0)));
  return s === '""' ? "{0}\r\n" : s.replace(/^~/, "");
}

function ours(raw: Uint8Array, item: string, ix: ReturnType<typeof indexMessage>): string {
  if (item === "ENVELOPE") return ix.envelope;
  if (item === "BODYSTRUCTURE") return ix.bodyStructure;
  if (item === "BODY") return ix.body;
  const m = /^(BODY|BINARY)\.PEEK\[([0-9.]*?)\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?(?: \((.*)\))?\]$/
    .exec(item);
  assert.ok(m, item);
  const part = m[2] ? m[2].split(".").filter(Boolean).map(Number) : [];
  if (m[1] === "BINARY") {
    const b = binaryBytes(raw, ix.root, part);
    return b === null ? "UNKNOWN-CTE" : lit(b);
  }
  const spec: SectionSpec = { part, text: m[3] as SectionSpec["text"], fields: m[4]?.split(" ") };
  return lit(sectionBytes(raw, ix.root, spec));
}

let matched = 0, total = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith(".eml")).sort()) {
  const name = f.slice(0, -4);
  test(`golden ${name}`, () => {
    const gold = JSON.parse(readFileSync(new URL(`golden/${name}.json`, dir), "utf8"));
    const raw = normalizeCrlf(new Uint8Array(readFileSync(new URL(f, dir))));
    const ix = indexMessage(raw);
    if (gold.fetch === undefined) return; // Dovecot refused the APPEND (empty message)
    for (const [item, v] of Object.entries(gold.fetch as Record<string, Gold>)) {
      total++;
      const have = ours(raw, item, ix);
      if ((KNOWN[name] ?? []).includes(item)) {
        assert.notEqual(have, want(v), `${name} ${item} now matches Dovecot: drop it from KNOWN`);
        continue;
      }
      assert.equal(have, want(v), `${name} ${item}`);
      matched++;
    }
  });
}
test("golden summary", () => {
  console.log(`mime golden: ${matched}/${total} Dovecot answers identical`);
  assert.ok(total === 0 || matched > 0);
});
