/**
 * The ingest writer thread: transactions run on a worker's own connection, the rows are
 * visible to the main thread's client at once, errors come back as rejections, and the main
 * thread's other writers take turns with it through the process's write lock.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepare } from "../../../src/quarantine/prepare.ts";
import { migrate, openStore, type Store } from "../../../src/storage/db.ts";
import { WriterThread } from "../../../src/storage/writer-thread.ts";

const dirs: string[] = [];
const stores: Store[] = [];
let writer: WriterThread | undefined;
after(() => {
  writer?.close();
  for (const s of stores) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function freshStore(migrated = true): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), "qwriter-"));
  dirs.push(dir);
  const store = await openStore({ url: `file:${join(dir, "q.db")}` });
  stores.push(store);
  if (migrated) await migrate(store);
  return store;
}

const message = (n: number) =>
  new TextEncoder().encode(`From: a@bad.test\r\nTo: u@example.com\r\nSubject: writer ${n}\r\nMessage-ID: <w${n}@bad.test>\r\n\r\nbody ${n}\r\n`);

test("ingest on the writer thread commits rows the main thread reads at once; main-thread writes interleave", async () => {
  writer = await WriterThread.start();
  assert.ok(writer, "the writer thread starts");
  const store = await freshStore();
  const file = store.localFile!;
  assert.ok(file.path.endsWith("q.db"));
  const opts = { defaultRetentionDays: 14, actor: "test" };
  // deliveries on the thread and writes from this thread, all at once
  const work = await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => writer!.ingest(file, [prepare({ raw: message(i), recipients: ["u@example.com", "v@example.com"] }, { words: false })], opts)),
    ...Array.from({ length: 10 }, (_, i) => store.client.execute({ sql: "INSERT INTO meta (key, value) VALUES (?, 'x')", args: [`k${i}`] })),
  ]);
  const ids = work.slice(0, 10).flatMap((r) => (r as { ids: number[] }[])[0].ids);
  assert.equal(new Set(ids).size, 20, "every recipient row has its own id");
  const rows = await store.client.execute("SELECT count(*) AS n FROM messages");
  assert.equal(Number(rows.rows[0].n), 20);
  const meta = await store.client.execute("SELECT count(*) AS n FROM meta WHERE key LIKE 'k%'");
  assert.equal(Number(meta.rows[0].n), 10);
  const queued = await store.client.execute("SELECT count(*) AS n FROM word_index_queue");
  assert.equal(Number(queued.rows[0].n), 10);
  writer.forget(file);
});

test("an error on the writer thread is a rejection, and the thread keeps working", async () => {
  writer ??= await WriterThread.start();
  const broken = await freshStore(false); // no tables
  await assert.rejects(writer!.ingest(broken.localFile!, [prepare({ raw: message(99), recipients: ["u@example.com"] })], { defaultRetentionDays: 14 }), /no such table/);
  const good = await freshStore();
  const [r] = await writer!.ingest(good.localFile!, [prepare({ raw: message(100), recipients: ["u@example.com"] })], { defaultRetentionDays: 14 });
  assert.equal(r.ids.length, 1);
});

test("a thread that stops answering is given up after the reply timeout: the batch is refused, later calls fail at once", async () => {
  const stuck = await WriterThread.start({ replyTimeoutMs: 300 });
  assert.ok(stuck);
  // a thread that is gone without a word (as if hung)
  (stuck as unknown as { worker: Worker }).worker.terminate();
  const store = await freshStore();
  const t0 = performance.now();
  await assert.rejects(stuck.ingest(store.localFile!, [prepare({ raw: message(200), recipients: ["u@example.com"] })], { defaultRetentionDays: 14 }), /did not answer/);
  assert.ok(performance.now() - t0 < 3000);
  assert.equal(stuck.usable, false);
  await assert.rejects(stuck.ingest(store.localFile!, [prepare({ raw: message(201), recipients: ["u@example.com"] })], { defaultRetentionDays: 14 }), /did not answer/);
  // the write lock was given back: this thread can write
  await store.client.execute("INSERT INTO meta (key, value) VALUES ('after', 'ok')");
  stuck.close();
});
