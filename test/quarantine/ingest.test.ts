import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expire } from "../../src/quarantine/expiry.ts";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { Mailbox } from "../../src/quarantine/mailbox.ts";
import type { Scope } from "../../src/quarantine/scope.ts";
import { migrate, openStore, type Store } from "../../src/storage/db.ts";

let dir: string;
let store: Store;
const enc = new TextEncoder();
const msg = (s: string) => enc.encode(`From: a@b.test\r\nTo: x@example.com\r\nSubject: ${s}\r\n\r\nbody ${s}\r\n`);
const admin: Scope = { kind: "admin", accountId: 1, login: "admin" };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "qingest-"));
  store = await openStore({ url: `file:${join(dir, "q.db")}` });
  await migrate(store);
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const n = async (sql: string, ...args: (string | number)[]) => Number((await store.client.execute({ sql, args })).rows[0].n);

test("multi-recipient ingest makes one row per recipient and one blob", async () => {
  const r = await ingestOne(store, { raw: msg("multi"), recipients: ["a@example.com", "b@example.com", "c@other.org"] }, { defaultRetentionDays: 14 });
  assert.equal(r.ids.length, 3);
  assert.equal(await n("SELECT count(DISTINCT blob_id) AS n FROM messages WHERE id IN (?, ?, ?)", ...r.ids), 1);
  const again = await ingestOne(store, { raw: msg("multi"), recipients: ["d@example.com"] }, { defaultRetentionDays: 14 });
  assert.equal(again.blobId, r.blobId, "the same bytes are stored once");
  assert.equal(again.duplicateBlob, true);
});

test("raw read-back is byte-exact; bare LF is stored as CRLF", async () => {
  const raw = enc.encode("From: a@b.test\r\nSubject: exact\r\n\r\n\u00e9t\u00e9 8-bit body\r\n.\r\n");
  const r = await ingestOne(store, { raw, recipients: ["a@example.com"] }, { defaultRetentionDays: 14 });
  const back = (await new Mailbox(store).bytes(admin, r.ids))!.get(r.ids[0])!;
  assert.deepEqual(Buffer.from(back), Buffer.from(raw));
  const lf = await ingestOne(store, { raw: enc.encode("Subject: lf\n\nline\n"), recipients: ["a@example.com"] }, { defaultRetentionDays: 14 });
  const lfBack = (await new Mailbox(store).bytes(admin, lf.ids)).get(lf.ids[0])!;
  assert.equal(Buffer.from(lfBack).toString(), "Subject: lf\r\n\r\nline\r\n");
});

test("a scope's query never returns another tenant's row", async () => {
  const a = await ingestOne(store, { raw: msg("tenant a"), recipients: ["t1@tenant-a.test"] }, { defaultRetentionDays: 14 });
  await ingestOne(store, { raw: msg("tenant b"), recipients: ["t2@tenant-b.test"] }, { defaultRetentionDays: 14 });
  const mb = new Mailbox(store);
  const user: Scope = { kind: "user", accountId: 2, login: "t1@tenant-a.test", addresses: ["t1@tenant-a.test"] };
  const domain: Scope = { kind: "domain", accountId: 3, login: "tenant-b.test", domain: "tenant-b.test" };
  assert.deepEqual([...(await mb.snapshot(user, "in")).uids], a.ids);
  const d = await mb.snapshot(domain, "in");
  assert.equal(d.uids.length, 1);
  assert.equal((await mb.status(domain, "in", 3)).messages, 1);
  assert.equal((await mb.bytes(domain, a.ids)).size, 0);
  assert.ok(d.uidNext > d.uids[0]);
});

test("expiry moves rows past retention out of Caught and collects unreferenced blobs", async () => {
  const r = await ingestOne(store, { raw: msg("expiring"), recipients: ["e@example.com"] }, { defaultRetentionDays: 1 });
  const res = await expire(store, { now: Date.now() + 2 * 86400_000, historyDays: 0 });
  assert.ok(res.expired >= 1);
  assert.equal(await n("SELECT count(*) AS n FROM messages WHERE id = ? AND state = 'caught'", r.ids[0]), 0);
  assert.ok(await n("SELECT count(*) AS n FROM audit WHERE action = 'expire' AND message_id = ?", r.ids[0]));
  // finished rows are kept for the history period (here 0 days), then their blob is collected
  await expire(store, { now: Date.now() + 3 * 86400_000, historyDays: 0 });
  assert.equal(await n("SELECT count(*) AS n FROM blobs WHERE id = ?", r.blobId), 0, "blob collected");
});

test("two processes ingesting into one database file at once lose nothing", async () => {
  const script = `
    import { openStore } from "./src/storage/db.ts";
    import { ingestBatch } from "./src/quarantine/ingest.ts";
    const s = await openStore({ url: process.env.Q_URL });
    const tag = process.env.Q_TAG;
    for (let i = 0; i < 20; i++) {
      const items = Array.from({ length: 10 }, (_, j) => ({ raw: new TextEncoder().encode("Subject: " + tag + " " + i + "-" + j + "\\r\\n\\r\\nx\\r\\n"), recipients: ["p@parallel.test"] }));
      await ingestBatch(s, items, { defaultRetentionDays: 14 });
    }
    s.close();`;
  const run = (tag: string) =>
    new Promise<number>((resolve) => {
      const p = spawn(process.execPath, "Deno" in globalThis ? ["eval", script] : ["-e", script], { stdio: "inherit", cwd: process.cwd(), env: { ...process.env, Q_URL: `file:${join(dir, "q.db")}`, Q_TAG: tag } });
      p.on("close", (code) => resolve(code ?? 1));
    });
  const codes = await Promise.all([run("A"), run("B")]);
  assert.deepEqual(codes, [0, 0]);
  assert.equal(await n("SELECT count(*) AS n FROM messages WHERE recipient = 'p@parallel.test'"), 400);
  assert.equal(await n("SELECT count(DISTINCT id) AS n FROM messages WHERE recipient = 'p@parallel.test'"), 400);
});

test("a domain's new retention applies to the mail already held for it", async () => {
  const { addDomain, updateDomain } = await import("../../src/quarantine/accounts.ts");
  await addDomain(store, { name: "retain.test" });
  const r = await ingestOne(store, { raw: msg("retention"), recipients: ["x@retain.test"] }, { defaultRetentionDays: 14 });
  await updateDomain(store, "retain.test", { retentionDays: 1 }, 14);
  const res = await expire(store, { now: Date.now() + 1.5 * 86400_000 });
  assert.ok(res.expired >= 1);
  assert.equal(await n("SELECT count(*) AS n FROM messages WHERE id = ? AND state = 'expired'", r.ids[0]), 1);
});

test("the native writer (local files) and the client path (libSQL servers) store the same rows", async () => {
  const stores: Store[] = [];
  const dump = async (s: Store) => {
    const q = async (sql: string) => (await s.client.execute(sql)).rows.map((r) => JSON.stringify(Object.values(r)));
    return {
      blobs: await q("SELECT id, sha256, raw_size, length(data), h_from, h_subject, h_message_id, h_date, h_date_day FROM blobs ORDER BY id"),
      messages: await q("SELECT id, blob_id, direction, recipient, recipient_domain, sender, score, reason, state, received_at, expires_at, modseq, raw_size FROM messages ORDER BY id"),
      changes: await q("SELECT modseq, message_id, kind, recipient, recipient_domain, direction FROM changes ORDER BY modseq"),
      audit: await q("SELECT actor, action, message_id, detail FROM audit ORDER BY id"),
      marks: await q("SELECT scope, uid_next FROM uid_marks ORDER BY scope"),
      words: await q("SELECT rowid FROM blob_text WHERE blob_text MATCH 'alpha' ORDER BY rowid"),
      queued: await q("SELECT blob_id FROM word_index_queue ORDER BY blob_id"),
    };
  };
  const results = [];
  for (const viaClient of [false, true]) {
    const d = mkdtempSync(join(tmpdir(), "qingest-paths-"));
    const opened = await openStore({ url: `file:${join(d, "q.db")}` });
    await migrate(opened);
    await opened.client.execute({ sql: "INSERT INTO domains (name, retention_days, created_at) VALUES ('example.com', 3, 0)", args: [] });
    // what a remote store looks like to ingest: no native connection
    const s: Store = viaClient ? { ...opened, native: () => undefined } : opened;
    stores.push(opened);
    const now = 1_800_000_000_000;
    const { ingestPrepared, prepare } = await import("../../src/quarantine/ingest.ts");
    await ingestPrepared(s, [
      prepare({ raw: msg("alpha one"), recipients: ["a@example.com", "b@other.org"], sender: "S@Bad.Test", score: 9.5, reason: "r" }),
      prepare({ raw: msg("alpha two"), recipients: ["a@example.com"], direction: "out" }, { words: false }),
      prepare({ raw: msg("alpha one"), recipients: ["c@example.com"] }),
    ], { defaultRetentionDays: 14, actor: "test", now });
    await ingestPrepared(s, [prepare({ raw: msg("alpha three"), recipients: ["a@example.com"] })], { defaultRetentionDays: 14, now });
    results.push(await dump(opened));
    opened.close();
    rmSync(d, { recursive: true, force: true });
  }
  assert.deepEqual(results[1], results[0]);
  assert.equal(results[0].messages.length, 5);
  assert.equal(results[0].blobs.length, 3, "a repeated message is stored once, in one batch too");
  assert.deepEqual(results[0].queued.length, 1, "the message prepared without words is queued");
});

test("message bytes read by the codec workers: byte-exact, scoped, and read here when the workers cannot", async () => {
  const { CodecPool } = await import("../../src/storage/codec-pool.ts");
  const codec = new CodecPool(2);
  try {
    await new Promise((r) => setTimeout(r, 300)); // worker handshakes
    assert.ok(codec.available, "codec workers started");
    const raw = msg("worker read");
    const a = await ingestOne(store, { raw, recipients: ["w1@example.com"] }, { defaultRetentionDays: 14 });
    const b = await ingestOne(store, { raw: msg("other tenant"), recipients: ["w2@other.org"] }, { defaultRetentionDays: 14 });
    const mb = new Mailbox(store, codec);
    const got = await mb.bytes(admin, [...a.ids, ...b.ids]);
    assert.deepEqual(Buffer.from(got.get(a.ids[0])!), Buffer.from(raw));
    assert.equal(got.size, 2);
    // the scope is applied before the workers read anything
    const domain: Scope = { kind: "domain", accountId: 2, login: "example.com", domain: "example.com" };
    assert.deepEqual([...(await mb.bytes(domain, [...a.ids, ...b.ids])).keys()], a.ids);
    // workers that cannot open the file: the same answer, read on this thread
    const broken = new Mailbox({ ...store, localFile: { path: join(dir, "missing-dir", "q.db"), busyTimeoutMs: 100 } }, codec);
    assert.deepEqual(Buffer.from((await broken.bytes(admin, a.ids)).get(a.ids[0])!), Buffer.from(raw));
  } finally {
    codec.close();
  }
});
