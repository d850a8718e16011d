/**
 * The deferred half of ingest. LMTP stores a message without its words (they cost a third of
 * preparing a message and a quarter of its commit) and in a plain container (finding base64
 * parts and compressing cost half of what was left), and queues the blob in word_index_queue;
 * this fills blob_text and replaces plain containers by compact ones for queued blobs in large
 * batches, on a prepare worker, when deliveries pause (or when thousands wait while they do
 * not). SEARCH TEXT/BODY calls catchUp() first, so a search never misses a message; every
 * reader takes both container forms, so nothing else waits for it.
 *
 * Several processes may share the database: a batch is claimed by deleting its queue rows in
 * the transaction that inserts the words, so each blob is indexed once; a blob collected by
 * expiry leaves the queue with it (foreign key, ON DELETE CASCADE).
 */
import { log } from "../observability/log.ts";
import { inWriteTransaction, type Store } from "../storage/db.ts";
import { PreparePool } from "./prepare-pool.ts";

const BATCH = 200;
/** quiet time after the last delivery before indexing starts */
const QUIET_MS = 500;
/**
 * Queued blobs after which indexing starts even while deliveries keep coming, so the catch-up
 * a SEARCH may have to wait for stays short (about 2 s of work).
 */
const MAX_BACKLOG = 5000;
/** queue check for deliveries made by other processes */
const POLL_MS = 10_000;

export class WordIndexer {
  private pool: PreparePool | undefined;
  private running: Promise<number> | undefined;
  private quiet: ReturnType<typeof setTimeout> | undefined;
  private backlog = 0;
  private poll: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  /** blobs indexed by this process since start */
  indexed = 0;
  /** plain containers this process replaced by compact ones since start */
  compacted = 0;

  /** pool: prepare workers to share (not closed by stop()); default: one of our own, made on first use */
  constructor(private readonly store: Store, private readonly sharedPool?: PreparePool) {
    this.pool = sharedPool;
  }

  /** Background indexing: a poll for other processes' deliveries, plus kick() after our own. */
  start(): this {
    this.poll = setInterval(() => this.runInBackground(), POLL_MS);
    (this.poll as { unref?: () => void }).unref?.();
    this.runInBackground();
    return this;
  }

  /** `queued` blobs were queued: index once deliveries pause for QUIET_MS, or at MAX_BACKLOG. */
  kick(queued = 1): void {
    if (this.stopped) return;
    this.backlog += queued;
    clearTimeout(this.quiet);
    if (this.backlog >= MAX_BACKLOG) return this.fire();
    this.quiet = setTimeout(() => this.fire(), QUIET_MS);
  }

  private fire(): void {
    clearTimeout(this.quiet);
    this.quiet = undefined;
    this.backlog = 0;
    this.runInBackground();
  }

  private runInBackground(): void {
    if (this.stopped) return;
    this.catchUp().catch((e) => log("error", "word_index.failed", { error: String(e) }));
  }

  /** Whether any blob waits for its words (one index probe). */
  async pending(): Promise<boolean> {
    const r = await this.store.client.execute("SELECT 1 FROM word_index_queue LIMIT 1");
    return r.rows.length > 0;
  }

  /** Indexes every queued blob; concurrent callers share one run. Returns how many were indexed. */
  catchUp(): Promise<number> {
    this.running ??= this.drain().finally(() => (this.running = undefined));
    return this.running;
  }

  private async drain(): Promise<number> {
    let total = 0;
    // stop() ends a run between batches; what is left stays queued for the next start
    while (!this.stopped) {
      const r = await this.store.client.execute({
        sql: "SELECT q.blob_id AS id, b.data AS data FROM word_index_queue q JOIN blobs b ON b.id = q.blob_id ORDER BY q.blob_id LIMIT ?",
        args: [BATCH],
      });
      if (r.rows.length === 0) return total;
      const ids = r.rows.map((row) => Number(row.id));
      const stored = r.rows.map((row) => new Uint8Array(row.data as ArrayBuffer));
      this.pool ??= new PreparePool(1);
      const finished = await this.pool.finish(stored);
      const byId = new Map(ids.map((id, i) => [id, finished[i]]));
      const done = await inWriteTransaction(this.store, async (tx) => {
        // claim: only rows still queued (another process may have indexed them meanwhile)
        const ph = ids.map(() => "?").join(",");
        const claimed = await tx.execute({ sql: `DELETE FROM word_index_queue WHERE blob_id IN (${ph}) RETURNING blob_id`, args: ids });
        const mine = claimed.rows.map((row) => Number(row.blob_id));
        const withWords = mine.filter((id) => byId.get(id)?.text);
        if (withWords.length) {
          await tx.execute({
            sql: `INSERT INTO blob_text (rowid, body) VALUES ${withWords.map(() => "(?, ?)").join(",")}`,
            args: withWords.flatMap((id) => [id, byId.get(id)!.text]),
          });
        }
        const compacted = mine.filter((id) => byId.get(id)?.compact);
        if (compacted.length) {
          // the same message bytes in their compact form: readers see no difference
          await tx.batch(compacted.map((id) => ({ sql: "UPDATE blobs SET data = ? WHERE id = ?", args: [byId.get(id)!.compact!, id] })));
        }
        this.compacted += compacted.length;
        return claimed.rows.length;
      });
      total += done;
      this.indexed += done;
    }
    return total;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.quiet);
    clearInterval(this.poll);
    await this.running?.catch(() => {});
    if (!this.sharedPool) this.pool?.close();
  }
}
