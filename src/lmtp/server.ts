/**
 * LMTP ingest (RFC 2033) for the spam filter: Postfix `lmtp:` transport, rspamd, amavis or
 * any MTA delivers quarantined mail here. Off by default, loopback by default, no AUTH or
 * TLS (it is a local hand-off; bind it elsewhere only on a trusted network).
 *
 * - RCPT: a recipient is known when its domain is in `domains`, or an account (user login,
 *   domain login) or alias covers it; others get 550 5.1.1 unless lmtp.unknownRecipients is
 *   "accept".
 * - DATA: over lmtp.maxMessageBytes → 552 for every recipient (SIZE is advertised too, so a
 *   well-behaved client is refused at MAIL already). The verdict is read from the configured
 *   headers into score and reason (classify.ts).
 * - Durability: the message goes through the one ingest path (prepare + ingestPrepared), and
 *   the per-recipient 250 is sent only after its transaction committed. Deliveries that
 *   arrive while a commit is being prepared or running share the next transaction (group
 *   commit, lmtp.groupCommitMs), which is what makes concurrent delivery fast.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from "smtp-server";
import type { Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { IngestError, ingestPrepared, prepare, type IngestItem, type IngestResult, type Prepared } from "../quarantine/ingest.ts";
import { PreparePool } from "../quarantine/prepare-pool.ts";
import { WordIndexer } from "../quarantine/word-index.ts";
import { domainOf, normalizeAddress } from "../quarantine/scope.ts";
import type { Store } from "../storage/db.ts";
import { WriterThread } from "../storage/writer-thread.ts";
import { verdictFromHeaders } from "./classify.ts";

export interface LmtpOptions {
  store: Store;
  config: Config;
  /** override config.lmtp.host / port (tests: port 0) */
  host?: string;
  port?: number;
  /** called after each commit with the new quarantine row ids (IMAP IDLE wake-up) */
  onIngested?: (ids: number[]) => void;
  /** builds the word index deliveries leave out (default: one of our own) */
  words?: WordIndexer;
  /** prepare workers, shared with the word indexer (default: a pool of our own) */
  pool?: PreparePool;
  /**
   * the thread local-file commits run on (default: one of our own, started here); false: commit
   * on the main thread
   */
  writer?: WriterThread | false;
}

export interface LmtpServer {
  port: number;
  host: string;
  /** threadCommits: commits that ran on the writer thread */
  stats: { messages: number; rows: number; commits: number; threadCommits: number; rejected: number };
  stop(): Promise<void>;
}


interface Pending {
  prepared: Prepared;
  clientAddr: string | null;
  resolve: (r: IngestResult) => void;
  reject: (e: unknown) => void;
}

/** Deliveries being prepared up to which the next is prepared on the main thread (2: best measured at 4 and 16 connections). */
const INLINE_PREPARE_MAX = 2;

/** Deliveries under way from which commits run on the writer thread. */
const WRITER_THREAD_FROM = 8;

/** Deliveries skip the word list: the word indexer adds it when they pause (word-index.ts). */
const PREPARE_OPTIONS = { words: false };

function prepareInline(item: IngestItem): (Prepared | IngestError)[] {
  try {
    return [prepare(item, PREPARE_OPTIONS)];
  } catch (e) {
    if (e instanceof IngestError) return [e];
    throw e;
  }
}

function smtpError(code: number, message: string): Error {
  const e = new Error(message) as Error & { responseCode: number };
  e.responseCode = code;
  return e;
}

/** Collects deliveries and ingests them in shared transactions. */
class GroupCommitter {
  private queue: Pending[] = [];
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  private running: Promise<void> | undefined;
  commits = 0;
  /** commits that ran on the writer thread */
  threadCommits = 0;

  constructor(
    private readonly store: Store,
    private readonly windowMs: number,
    private readonly retentionDays: number,
    /** deliveries past their DATA command and not yet answered (queued ones included) */
    private readonly underWay: () => number,
    private readonly onIngested?: (ids: number[]) => void,
    private readonly writer?: WriterThread,
  ) {}

  private ingest(prepared: Prepared[], opts: Parameters<typeof ingestPrepared>[2]): Promise<IngestResult[]> {
    const file = this.store.localFile;
    // Many deliveries under way: commit on the writer thread, so its transaction overlaps with
    // reading and preparing the others. Few: commit here, where a thread hop only adds latency
    // (measured: +10-20% at 16 connections on the thread, -5% at 4 and -10% at 1).
    const offload = this.writer?.usable && file && this.underWay() >= WRITER_THREAD_FROM;
    if (!offload) return ingestPrepared(this.store, prepared, opts);
    this.threadCommits++;
    return this.writer!.ingest(file!, prepared, opts);
  }

  submit(prepared: Prepared, clientAddr: string | null): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ prepared, clientAddr, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Commit as soon as every delivery that is under way (receiving its DATA or being prepared)
   * has joined the queue: with one connection that is at once, with several the others are
   * usually a fraction of a millisecond away and sharing the commit (and its fsync) is cheaper
   * than a commit each. A delivery never waits more than the window (at least one timer tick).
   */
  private schedule(): void {
    if (this.running) return; // the running commit picks the queue up when done
    if (this.queue.length >= this.underWay()) {
      if (this.timer) this.cancelTimer();
      this.timer = setImmediate(() => this.start());
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.start(), Math.max(1, this.windowMs));
    }
  }

  private start(): void {
    this.timer = undefined;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.length) this.schedule();
    });
  }

  private cancelTimer(): void {
    clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    clearImmediate(this.timer as ReturnType<typeof setImmediate>);
    this.timer = undefined;
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, 500);
      // One transaction per client address, so the audit log names who delivered.
      const byAddr = new Map<string | null, Pending[]>();
      for (const p of batch) {
        const list = byAddr.get(p.clientAddr) ?? [];
        list.push(p);
        byAddr.set(p.clientAddr, list);
      }
      for (const [addr, list] of byAddr) await this.commit(list, addr);
    }
  }

  private async commit(list: Pending[], clientAddr: string | null): Promise<void> {
    const opts = { defaultRetentionDays: this.retentionDays, actor: "lmtp", actorKind: "system", clientAddr };
    try {
      const results = await this.ingest(list.map((p) => p.prepared), opts);
      this.commits++;
      list.forEach((p, i) => p.resolve(results[i]));
      this.onIngested?.(results.flatMap((r) => r.ids));
    } catch (e) {
      if (list.length === 1) {
        list[0].reject(e);
        return;
      }
      // One bad message must not fail its neighbours: retry them one by one.
      for (const p of list) {
        try {
          const [r] = await this.ingest([p.prepared], opts);
          this.commits++;
          p.resolve(r);
          this.onIngested?.(r.ids);
        } catch (e2) {
          p.reject(e2);
        }
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) {
      this.cancelTimer();
      this.running = this.drain().finally(() => (this.running = undefined));
    }
    await this.running;
  }
}

/** Known-recipient lookups, cached briefly (an MTA delivers bursts to the same addresses). */
class RecipientCheck {
  private cache = new Map<string, { known: boolean; until: number }>();
  constructor(private readonly store: Store, private readonly ttlMs = 5000) {}

  async known(address: string): Promise<boolean> {
    const now = Date.now();
    const c = this.cache.get(address);
    if (c && c.until > now) return c.known;
    const domain = domainOf(address);
    const r = await this.store.client.execute({
      sql: `SELECT 1 FROM domains WHERE name = ?1
            UNION ALL SELECT 1 FROM accounts WHERE login IN (?1, ?2) AND disabled = 0
            UNION ALL SELECT 1 FROM aliases WHERE address = ?2
            LIMIT 1`,
      args: [domain, address],
    });
    const known = r.rows.length > 0;
    if (this.cache.size > 10000) this.cache.clear();
    this.cache.set(address, { known, until: now + this.ttlMs });
    return known;
  }
}

export async function startLmtp(opts: LmtpOptions): Promise<LmtpServer> {
  const { store, config } = opts;
  const cfg = config.lmtp;
  const direction = cfg.direction === "outgoing" ? "out" : "in";
  const pool = opts.pool ?? new PreparePool();
  const words = opts.words ?? new WordIndexer(store, pool).start();
  // Deliveries past DATA and not yet answered, by session (a client that drops mid-DATA is
  // taken off in onClose), so the committer knows who may still join a commit.
  const underWay = new Set<string>();
  const ownWriter = opts.writer === undefined && store.localFile ? await WriterThread.start() : undefined;
  if (opts.writer === undefined && store.localFile && !ownWriter) log("warn", "lmtp.writer_thread_unavailable", { fallback: "main thread" });
  const writer = opts.writer || ownWriter;
  const committer = new GroupCommitter(
    store,
    cfg.groupCommitMs,
    config.retention.defaultDays,
    () => underWay.size,
    (ids) => {
      words.kick(ids.length);
      opts.onIngested?.(ids);
    },
    writer,
  );
  const recipients = new RecipientCheck(store);
  const stats = { messages: 0, rows: 0, commits: 0, threadCommits: 0, rejected: 0 };
  let inFlight = 0;

  const server = new SMTPServer({
    lmtp: true,
    name: config.hostname,
    banner: "quarantined",
    logger: false,
    authOptional: true,
    disabledCommands: ["AUTH", "STARTTLS"],
    // a local hand-off: no PTR lookup per connection (an appliance without working DNS would
    // otherwise hold every new connection for the resolver's timeout)
    disableReverseLookup: true,
    size: cfg.maxMessageBytes,
    maxClients: 1000,
    closeTimeout: 5000,
    onConnect(_session, cb) {
      cb();
    },
    onMailFrom(_address, _session, cb) {
      cb();
    },
    onRcptTo(address, session, cb) {
      const rcpt = normalizeAddress(address.address);
      if (session.envelope.rcptTo.length >= cfg.maxRecipients) return cb(smtpError(452, "4.5.3 Too many recipients"));
      if (!/^[^@\s]+@[^@\s]+$/.test(rcpt)) return cb(smtpError(550, `5.1.3 <${address.address}>: bad recipient address syntax`));
      if (cfg.unknownRecipients === "accept") return cb();
      recipients.known(rcpt).then(
        (ok) => {
          if (ok) return cb();
          stats.rejected++;
          cb(smtpError(550, `5.1.1 <${address.address}>: unknown recipient, no quarantine for this domain`));
        },
        (e) => {
          log("error", "lmtp.rcpt_lookup_failed", { error: String(e) });
          cb(smtpError(451, "4.3.0 Temporary lookup failure"));
        },
      );
    },
    onClose(session) {
      underWay.delete(session.id);
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, done) {
      underWay.add(session.id);
      const cb = (err: Error | null, message?: string | string[]) => {
        underWay.delete(session.id);
        (done as (e: Error | null, m?: string | string[]) => void)(err, message);
      };
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("data", (c: Buffer) => {
        if (stream.sizeExceeded) return; // smtp-server answers 552 per recipient itself
        size += c.length;
        chunks.push(c);
      });
      stream.on("end", () => {
        if (stream.sizeExceeded || size > cfg.maxMessageBytes) return cb(smtpError(552, `5.3.4 Message exceeds the maximum size of ${cfg.maxMessageBytes} bytes`));
        const rcpts = session.envelope.rcptTo.map((r) => r.address);
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        const refuse = (e: unknown) => {
          const code = e instanceof IngestError ? 554 : 451;
          cb(smtpError(code, `${code === 554 ? "5.6.0" : "4.3.0"} Cannot store message: ${(e as Error).message}`));
        };
        let item: IngestItem;
        try {
          const verdict = verdictFromHeaders(raw, cfg.scoreHeaders);
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
          item = { raw, recipients: rcpts, sender: from, score: verdict.score, reason: verdict.reason, direction };
        } catch (e) {
          return refuse(e);
        }
        // With few deliveries in flight, preparing here is quicker than a hop to a worker; under
        // load the prepare workers take it so the main thread keeps talking LMTP and committing.
        inFlight++;
        const prepared$ = inFlight <= INLINE_PREPARE_MAX ? Promise.resolve().then(() => prepareInline(item)) : pool.prepare([item], PREPARE_OPTIONS);
        prepared$.finally(() => inFlight--);
        prepared$.then(([prepared]) => {
          if (prepared instanceof IngestError) return refuse(prepared);
          return commit(prepared);
        }, refuse);
        const commit = (prepared: Prepared) => committer.submit(prepared, session.remoteAddress ?? null).then(
          (res) => {
            stats.messages++;
            stats.rows += res.ids.length;
            stats.commits = committer.commits;
            stats.threadCommits = committer.threadCommits;
            // prepare() de-duplicates recipients; map each RCPT to its row.
            const byRcpt = new Map(prepared.recipients.map((r, i) => [r, res.ids[i]]));
            cb(null, rcpts.map((r) => `2.0.0 <${r}> quarantined as ${byRcpt.get(normalizeAddress(r)) ?? res.ids[0]}`));
          },
          (e) => {
            log("error", "lmtp.ingest_failed", { error: String(e) });
            cb(smtpError(451, "4.3.0 Temporary failure storing the message, try again"));
          },
        );
      });
    },
  });

  const host = opts.host ?? cfg.host;
  const port = opts.port ?? cfg.port;
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        resolve();
      });
    });
  } catch (e) {
    // not listening: stop the threads started for it, so the process can exit
    ownWriter?.close();
    if (!opts.words) await words.stop();
    if (!opts.pool) pool.close();
    throw e;
  }
  server.on("error", (e: Error) => log("warn", "lmtp.error", { error: String(e) }));
  const addr = server.server.address() as AddressInfo;
  log("info", "lmtp.listening", { host, port: addr.port });
  return {
    port: addr.port,
    host,
    stats,
    async stop() {
      await new Promise<void>((r) => server.close(() => r()));
      await committer.close();
      if (ownWriter) ownWriter.close();
      else if (writer && store.localFile) writer.forget(store.localFile);
      if (!opts.words) await words.stop();
      if (!opts.pool) pool.close();
    },
  };
}
