/**
 * The IMAP server's FETCH answers for the MIME fixture corpus equal Dovecot 2.3's answers for
 * the same messages (golden files recorded by scripts/make-mime-golden.py). Same known,
 * deliberate differences as test/unit/mime/golden.test.ts.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RawClient } from "../helpers/imap-client.ts";
import { ADMIN_PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";
import { KNOWN_DIFFERENCES } from "../fixtures/mime/known-differences.ts";

const DIR = join(import.meta.dirname, "../fixtures/mime");
const KNOWN = KNOWN_DIFFERENCES;
type Gold = { text?: string; b64?: string; error?: string };
// (empty.eml has no answers: Dovecot refuses a zero-byte message, and so does our ingest)
const golden = readdirSync(join(DIR, "golden"))
  .map((f) => ({ name: f.replace(/\.json$/, ""), ...(JSON.parse(readFileSync(join(DIR, "golden", f), "utf8")) as { fixture: string; fetch?: Record<string, Gold> }) }))
  .filter((g): g is typeof g & { fetch: Record<string, Gold> } => !!g.fetch);

let t: TestServer;
let c: RawClient;
const uids = new Map<string, number>();

before(async () => {
  t = await startTestServer();
  for (const g of golden) {
    const [uid] = await t.ingest(["golden@example.com"], readFileSync(join(DIR, g.fixture)));
    uids.set(g.name, uid);
  }
  c = await RawClient.connect(t.imaps, true);
  await c.cmd("l", `LOGIN admin ${ADMIN_PASSWORD}`);
  await c.cmd("s", "EXAMINE Caught");
});
after(async () => {
  c.close();
  await t.stop();
});

function want(v: Gold): string {
  if (v.error !== undefined) return v.error.includes("UNKNOWN-CTE") ? "UNKNOWN-CTE" : "ERROR";
  const s = v.text ?? Buffer.from(v.b64 as string, "base64").toString("utf8");
  return s === '""' ? "{0}\r\n" : s.replace(/^~/, "");
}

/** The value of one FETCH item, as the server wrote it. */
async function fetchItem(uid: number, item: string): Promise<string> {
  const r = await c.cmd("f", `UID FETCH ${uid} (${item})`);
  if (/^f NO \[UNKNOWN-CTE\]/m.test(r)) return "UNKNOWN-CTE";
  assert.match(r, /^f OK/m, `${item}: ${r.slice(-200)}`);
  const label = item.replace(".PEEK", "");
  const start = r.indexOf(` ${label} `);
  assert.ok(start >= 0, `${item} missing in ${r.slice(0, 300)}`);
  const end = r.lastIndexOf(")\r\nf OK");
  // the server writes UTF-8; the raw client reads latin1
  return Buffer.from(r.slice(start + label.length + 2, end), "latin1").toString("utf8").replace(/^~/, "");
}

test("FETCH answers equal Dovecot's for the fixture corpus", async () => {
  let compared = 0;
  const mismatches: string[] = [];
  for (const g of golden) {
    const uid = uids.get(g.name)!;
    for (const [item, gold] of Object.entries(g.fetch)) {
      if (KNOWN[g.name]?.includes(item)) continue;
      const w = want(gold);
      if (w === "ERROR") continue;
      const got = await fetchItem(uid, item);
      compared++;
      if (got !== w) mismatches.push(`${g.name} ${item}:\n  want ${JSON.stringify(w.slice(0, 200))}\n  got  ${JSON.stringify(got.slice(0, 200))}`);
    }
  }
  assert.equal(mismatches.length, 0, `${mismatches.length} of ${compared} differ:\n${mismatches.slice(0, 10).join("\n")}`);
  assert.ok(compared > 800, `compared ${compared} answers`);
});
