/**
 * Release delivery against a real SMTP server (smtp-server, in-process) with the real worker
 * and nodemailer client: byte-exact delivery with one trace header, 451-then-250 retry,
 * 550 back to Caught as a new row, a dead worker's rows taken over by a new one.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { OutboxWorker } from "../../src/delivery/outbox.ts";
import { release } from "../../src/quarantine/actions.ts";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { normalizeCrlf } from "../../src/mime/index.ts";
import { openStore } from "../../src/storage/db.ts";
import { ADMIN, addDomain, rows, sampleMessage, startSink, tempStore, testConfig, waitFor, type Sink, type TempStore } from "./harness.ts";

const TRACE = "X-Quarantine-Released";

function countHeader(raw: Buffer, name: string): number {
  const head = raw.toString("latin1").split("\r\n\r\n")[0];
  return head.split("\r\n").filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ":")).length;
}

async function setup(script: (number | undefined)[] = []) {
  const t = await tempStore();
  const sink = await startSink(script);
  await addDomain(t.store, "example.com", `127.0.0.1:${sink.port}`);
  const config = testConfig({ dataDir: t.dir, smtp: { traceHeader: TRACE } });
  return { t, sink, config };
}

async function quarantine(t: TempStore, raw: Uint8Array, rcpt = "alice@example.com", sender = "spam@bad.example"): Promise<number> {
  const r = await ingestOne(t.store, { raw, recipients: [rcpt], sender, score: 12.5, reason: "BAYES_99" }, { defaultRetentionDays: 14 });
  return r.ids[0];
}

describe("outbox delivery", () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("release arrives byte-exact with exactly one trace header, envelope from the row", async () => {
    const { t, sink, config } = await setup();
    const w = new OutboxWorker({ store: t.store, config, pollMs: 50 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const raw = sampleMessage({ body: "line one\r\n.dot-leading\r\n..\r\n.\r\nend\r\n" });
    const id = await quarantine(t, raw);
    assert.deepEqual(await release(t.store, ADMIN, [id], "release"), [id]);
    w.kick();
    await waitFor("delivery", () => sink.received.length === 1);
    await w.whenIdle();
    const got = sink.received[0];
    assert.equal(got.from, "spam@bad.example");
    assert.deepEqual(got.to, ["alice@example.com"]);
    assert.equal(countHeader(got.raw, TRACE), 1);
    const firstLineEnd = got.raw.indexOf("\r\n");
    assert.ok(got.raw.subarray(0, firstLineEnd).toString().startsWith(`${TRACE}: `), "trace header is prepended");
    const original = Buffer.from(normalizeCrlf(raw));
    assert.ok(got.raw.subarray(firstLineEnd + 2).equals(original), "the rest is the original bytes");
    const [m] = await rows<{ state: string }>(t.store, "SELECT state FROM messages WHERE id = ?", [id]);
    assert.equal(m.state, "released");
    const [o] = await rows<{ state: string; attempts: number; last_reply: string }>(t.store, "SELECT state, attempts, last_reply FROM outbox WHERE message_id = ?", [id]);
    assert.equal(o.state, "done");
    assert.equal(Number(o.attempts), 1);
    assert.match(o.last_reply, /^250/);
    const audit = await rows<{ action: string }>(t.store, "SELECT action FROM audit WHERE message_id = ? ORDER BY id", [id]);
    assert.deepEqual(audit.map((a) => a.action), ["ingest", "release", "release.delivered"]);
  });

  test("null sender is sent as MAIL FROM:<>, a smarthost is used when the domain has no route", async () => {
    const t = await tempStore();
    const sink = await startSink();
    const config = testConfig({ dataDir: t.dir, smtp: { smarthost: { host: "127.0.0.1", port: sink.port, starttls: "off" } } });
    const w = new OutboxWorker({ store: t.store, config, pollMs: 50 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const id = await quarantine(t, sampleMessage(), "bob@other.example", "");
    await release(t.store, ADMIN, [id], "release");
    w.kick();
    await waitFor("delivery", () => sink.received.length === 1);
    assert.equal(sink.received[0].from, "");
    assert.deepEqual(sink.received[0].to, ["bob@other.example"]);
  });

  test("451 then 250: retried with backoff, delivered once", async () => {
    const { t, sink, config } = await setup([451]);
    const w = new OutboxWorker({ store: t.store, config, pollMs: 20, retryBaseMs: 100, retryMaxMs: 1000 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const id = await quarantine(t, sampleMessage());
    await release(t.store, ADMIN, [id], "release");
    w.kick();
    await waitFor("first attempt recorded", async () => (await rows<{ last_reply: string | null }>(t.store, "SELECT last_reply FROM outbox WHERE message_id = ?", [id]))[0].last_reply);
    const [mid] = await rows<{ state: string; attempts: number; last_reply: string; next_attempt_at: number }>(t.store, "SELECT * FROM outbox WHERE message_id = ?", [id]);
    assert.equal(mid.state, "pending");
    assert.equal(Number(mid.attempts), 1);
    assert.match(mid.last_reply, /^451/);
    await waitFor("delivery", () => sink.received.length === 1);
    await w.whenIdle();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.received.length, 1, "delivered exactly once");
    assert.equal(sink.attempts, 2);
    const [o] = await rows<{ state: string; attempts: number }>(t.store, "SELECT state, attempts FROM outbox WHERE message_id = ?", [id]);
    assert.equal(o.state, "done");
    assert.equal(Number(o.attempts), 2);
    const [m] = await rows<{ state: string }>(t.store, "SELECT state FROM messages WHERE id = ?", [id]);
    assert.equal(m.state, "released");
    const audit = await rows<{ action: string }>(t.store, "SELECT action FROM audit WHERE message_id = ? ORDER BY id", [id]);
    assert.deepEqual(audit.map((a) => a.action), ["ingest", "release", "release.retry", "release.delivered"]);
  });

  test("550: the message returns to Caught as a new row carrying the reply", async () => {
    const { t, sink, config } = await setup([550]);
    const w = new OutboxWorker({ store: t.store, config, pollMs: 50 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const id = await quarantine(t, sampleMessage());
    const [before] = await rows<{ uid_next: number }>(t.store, "SELECT uid_next FROM uid_marks WHERE scope = 'in:r:alice@example.com'");
    await release(t.store, ADMIN, [id], "release");
    w.kick();
    await waitFor("failure recorded", async () => (await rows<{ state: string }>(t.store, "SELECT state FROM outbox WHERE message_id = ?", [id]))[0].state === "failed");
    await w.whenIdle();
    const [o] = await rows<{ last_reply: string }>(t.store, "SELECT last_reply FROM outbox WHERE message_id = ?", [id]);
    assert.match(o.last_reply, /^550 .*rejected as spam/);
    const [old] = await rows<{ state: string; last_error: string }>(t.store, "SELECT state, last_error FROM messages WHERE id = ?", [id]);
    assert.equal(old.state, "deleted");
    assert.match(old.last_error, /^550/);
    const caught = await rows<Record<string, unknown>>(t.store, "SELECT * FROM messages WHERE state = 'caught'");
    assert.equal(caught.length, 1);
    const n = caught[0];
    const newId = Number(n.id);
    assert.ok(newId > id, "a new id, above the old UIDNEXT");
    assert.ok(newId >= Number(before.uid_next));
    const [orig] = await rows<Record<string, unknown>>(t.store, "SELECT * FROM messages WHERE id = ?", [id]);
    for (const k of ["blob_id", "recipient", "recipient_domain", "sender", "score", "reason", "received_at", "expires_at", "direction", "raw_size"]) assert.equal(n[k], orig[k], k);
    assert.match(String(n.last_error), /^550 .*rejected as spam/);
    // Seen by IMAP sessions exactly like an ingested message: change-log add, UIDNEXT raised.
    const ch = await rows<{ kind: string; modseq: number }>(t.store, "SELECT kind, modseq FROM changes WHERE message_id = ?", [newId]);
    assert.deepEqual(ch.map((c) => c.kind), ["add"]);
    assert.equal(Number(n.modseq), Number(ch[0].modseq));
    for (const scope of ["in:*", "in:d:example.com", "in:r:alice@example.com"]) {
      const [mk] = await rows<{ uid_next: number }>(t.store, "SELECT uid_next FROM uid_marks WHERE scope = ?", [scope]);
      assert.equal(Number(mk.uid_next), newId + 1, scope);
    }
    const [a] = await rows<{ detail: string }>(t.store, "SELECT detail FROM audit WHERE action = 'release.failed' AND message_id = ?", [id]);
    assert.equal(JSON.parse(a.detail).returnedAs, newId);
    const [b] = await rows<{ detail: string }>(t.store, "SELECT detail FROM audit WHERE action = 'release.returned' AND message_id = ?", [newId]);
    assert.equal(JSON.parse(b.detail).originalId, id);
    // It can be released again (and this time the sink takes it).
    await release(t.store, ADMIN, [newId], "release");
    w.kick();
    await waitFor("second delivery", () => sink.received.length === 1);
  });

  test("temporary failures past the maximum age count as permanent", async () => {
    const { t, sink, config } = await setup([451, 451, 451, 451, 451, 451, 451, 451, 451, 451]);
    const w = new OutboxWorker({ store: t.store, config, pollMs: 20, retryBaseMs: 30, retryMaxMs: 60, maxRetryAgeMs: 250 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const id = await quarantine(t, sampleMessage());
    await release(t.store, ADMIN, [id], "release");
    w.kick();
    await waitFor("gave up", async () => (await rows<{ state: string }>(t.store, "SELECT state FROM outbox WHERE message_id = ?", [id]))[0].state === "failed");
    const [o] = await rows<{ last_reply: string }>(t.store, "SELECT last_reply FROM outbox WHERE message_id = ?", [id]);
    assert.match(o.last_reply, /^gave up after \d+ attempts .*451/);
    const caught = await rows(t.store, "SELECT id FROM messages WHERE state = 'caught'");
    assert.equal(caught.length, 1);
  });

  test("a worker killed between enqueue and delivery: a new worker on the same database delivers it", async () => {
    const { t, sink, config } = await setup([0]); // the first DATA never gets an answer
    const w1 = new OutboxWorker({ store: t.store, config, pollMs: 20, leaseMs: 600, owner: "worker-1" }).start();
    cleanups.push(() => t.cleanup(), () => sink.close());
    const id = await quarantine(t, sampleMessage());
    await release(t.store, ADMIN, [id], "release");
    w1.kick();
    await waitFor("worker 1 leased the row and is sending", async () => sink.attempts === 1 && (await rows<{ lease_owner: string }>(t.store, "SELECT lease_owner FROM outbox WHERE message_id = ?", [id]))[0].lease_owner === "worker-1");
    w1.abandon(); // dies: nothing recorded, the lease stays until it runs out
    assert.equal(sink.received.length, 0);
    // "Restart": a new process opens the same database.
    const store2 = await openStore({ url: t.url });
    const w2 = new OutboxWorker({ store: store2, config, pollMs: 20, owner: "worker-2" }).start();
    cleanups.push(async () => {
      await w2.stop();
      store2.close();
    });
    await waitFor("delivery by worker 2", () => sink.received.length === 1);
    await w2.whenIdle();
    const [o] = await rows<{ state: string; attempts: number }>(t.store, "SELECT state, attempts FROM outbox WHERE message_id = ?", [id]);
    assert.equal(o.state, "done");
    assert.equal(Number(o.attempts), 2);
    const [m] = await rows<{ state: string }>(t.store, "SELECT state FROM messages WHERE id = ?", [id]);
    assert.equal(m.state, "released");
  });

  test("a clean stop hands back its leases; a stale lease of a dead process is taken over only after it expires", async () => {
    const { t, sink, config } = await setup();
    cleanups.push(() => t.cleanup(), () => sink.close());
    // Worker 1 stopped after the enqueue: the row waits for the next worker.
    const w1 = new OutboxWorker({ store: t.store, config, pollMs: 10_000 }).start();
    await w1.stop();
    const id1 = await quarantine(t, sampleMessage());
    await release(t.store, ADMIN, [id1], "release");
    // A second row leased by a process that died 0.4 s before its lease ends.
    const id2 = await quarantine(t, sampleMessage());
    await release(t.store, ADMIN, [id2], "release");
    const leaseUntil = Date.now() + 400;
    await t.store.client.execute({ sql: "UPDATE outbox SET lease_owner = 'dead-process', lease_until = ?, attempts = 1 WHERE message_id = ?", args: [leaseUntil, id2] });
    const w2 = new OutboxWorker({ store: t.store, config, pollMs: 20 }).start();
    cleanups.push(() => w2.stop());
    await waitFor("the unleased row", () => sink.received.length === 1);
    assert.ok(Date.now() < leaseUntil, "test too slow to observe the lease");
    assert.equal((await rows<{ lease_owner: string }>(t.store, "SELECT lease_owner FROM outbox WHERE message_id = ?", [id2]))[0].lease_owner, "dead-process");
    await waitFor("the stale row", () => sink.received.length === 2);
    assert.ok(Date.now() >= leaseUntil, "taken only after the lease ran out");
    await w2.whenIdle();
    const states = await rows<{ state: string }>(t.store, "SELECT state FROM messages WHERE id IN (?, ?)", [id1, id2]);
    assert.deepEqual(states.map((s) => s.state), ["released", "released"]);
  });

  test("two workers on one database never take the same row", async () => {
    const { t, sink, config } = await setup();
    cleanups.push(() => t.cleanup(), () => sink.close());
    const store2 = await openStore({ url: t.url });
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push(await quarantine(t, sampleMessage()));
    await release(t.store, ADMIN, ids, "release");
    const a = new OutboxWorker({ store: t.store, config, pollMs: 5, concurrency: 4 });
    const b = new OutboxWorker({ store: store2, config, pollMs: 5, concurrency: 4 });
    a.start();
    b.start();
    cleanups.push(async () => {
      await a.stop();
      await b.stop();
      store2.close();
    });
    await waitFor("all delivered", () => sink.received.length >= 60, 20_000);
    await Promise.all([a.whenIdle(), b.whenIdle()]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(sink.received.length, 60, "no duplicates");
    assert.equal(a.stats.delivered + b.stats.delivered, 60);
    const done = await rows(t.store, "SELECT id FROM outbox WHERE state = 'done' AND attempts = 1");
    assert.equal(done.length, 60);
  });
});
