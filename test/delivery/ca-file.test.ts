/**
 * A route's CA file (options.smtp.caFile or smtp.smarthost.caFile) is read without blocking
 * the event loop: a FIFO, a directory, a missing or oversized file is refused at once, and the
 * release fails permanently (back to Caught) with a reply saying what to fix.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, ftruncateSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OutboxWorker } from "../../src/delivery/outbox.ts";
import { CA_FILE_MAX_BYTES, CaFileError, readCaFile } from "../../src/delivery/smtp.ts";
import { release } from "../../src/quarantine/actions.ts";
import { ingestOne } from "../../src/quarantine/ingest.ts";
import { ADMIN, rows, run, sampleMessage, startSink, tempStore, testConfig, waitFor, which } from "./harness.ts";

/** Runs fn while counting timer ticks: a blocked event loop would count none. */
async function ticking<T>(fn: () => Promise<T>): Promise<{ value: T; ticks: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const value = await fn();
    await new Promise((r) => setTimeout(r, 30));
    return { value, ticks };
  } finally {
    clearInterval(timer);
  }
}

describe("route CA files", () => {
  const cleanups: (() => unknown)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("readCaFile: only a regular file of at most 1 MiB; a FIFO never blocks", async () => {
    const t = await tempStore();
    cleanups.push(() => t.cleanup());
    const pem = join(t.dir, "ca.pem");
    writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    assert.match((await readCaFile(pem)).toString(), /BEGIN CERTIFICATE/);

    const dir = join(t.dir, "a-directory");
    mkdirSync(dir);
    await assert.rejects(readCaFile(dir), (e: unknown) => e instanceof CaFileError && /not a regular file/.test(e.message));
    await assert.rejects(readCaFile(join(t.dir, "missing.pem")), (e: unknown) => e instanceof CaFileError && /cannot be opened \(ENOENT\)/.test(e.message));
    const big = join(t.dir, "big.pem");
    const fd = openSync(big, "w");
    ftruncateSync(fd, CA_FILE_MAX_BYTES + 1);
    closeSync(fd);
    await assert.rejects(readCaFile(big), (e: unknown) => e instanceof CaFileError && /larger than/.test(e.message));
    writeFileSync(join(t.dir, "empty.pem"), "");
    await assert.rejects(readCaFile(join(t.dir, "empty.pem")), (e: unknown) => e instanceof CaFileError && /empty/.test(e.message));

    if (!(await which("mkfifo"))) return;
    const fifo = join(t.dir, "ca.fifo");
    assert.equal((await run("mkfifo", [fifo])).code, 0);
    const { ticks } = await ticking(() => assert.rejects(readCaFile(fifo), (e: unknown) => e instanceof CaFileError && /not a regular file/.test(e.message)));
    assert.ok(ticks > 0, "the event loop kept running");
  });

  test("a release over a route whose caFile is a FIFO fails permanently at once, back to Caught with a clear reply", async () => {
    if (!(await which("mkfifo"))) return;
    const t = await tempStore();
    const sink = await startSink();
    const fifo = join(t.dir, "ca.fifo");
    assert.equal((await run("mkfifo", [fifo])).code, 0);
    await t.store.client.execute({
      sql: "INSERT INTO domains (name, route, options, created_at) VALUES ('example.com', ?, ?, ?)",
      args: [`127.0.0.1:${sink.port}`, JSON.stringify({ smtp: { caFile: fifo } }), Date.now()],
    });
    const config = testConfig({ dataDir: t.dir });
    const w = new OutboxWorker({ store: t.store, config, pollMs: 50 }).start();
    cleanups.push(() => t.cleanup(), () => sink.close(), () => w.stop());
    const id = (await ingestOne(t.store, { raw: sampleMessage(), recipients: ["alice@example.com"], sender: "s@x.test" }, { defaultRetentionDays: 14 })).ids[0];
    await release(t.store, ADMIN, [id], "release");

    const { ticks } = await ticking(async () => {
      w.kick();
      await waitFor("failure recorded", async () => (await rows<{ state: string }>(t.store, "SELECT state FROM outbox WHERE message_id = ?", [id]))[0].state === "failed", 5000);
      await w.whenIdle();
    });
    assert.ok(ticks > 0, "the event loop kept running");
    const [o] = await rows<{ last_reply: string; attempts: number }>(t.store, "SELECT last_reply, attempts FROM outbox WHERE message_id = ?", [id]);
    assert.equal(Number(o.attempts), 1, "no retries");
    assert.match(o.last_reply, /CA file \(caFile\) is not a regular file; fix the domain's options\.smtp\.caFile/);
    assert.ok(!o.last_reply.includes(fifo), "the server-side path is not shown to the tenant");
    const caught = await rows<{ id: number; last_error: string }>(t.store, "SELECT id, last_error FROM messages WHERE state = 'caught'");
    assert.equal(caught.length, 1, "back in Caught");
    assert.match(caught[0].last_error, /CA file/);
    assert.equal(sink.received.length, 0);

    // Once the operator puts a real file there, releasing again delivers (nothing stale was kept).
    rmSync(fifo);
    writeFileSync(fifo, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
    await release(t.store, ADMIN, [Number(caught[0].id)], "release");
    w.kick();
    await waitFor("delivery", () => sink.received.length === 1, 5000);
  });
});
