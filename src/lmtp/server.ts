/**
 * LMTP ingest (RFC 2033) for the spam filter: Postfix `lmtp:` transport, rspamd, amavis or
 * any MTA delivers quarantined mail here. Off by default, loopback by default, no AUTH or
 * TLS (it is a local hand-off; bind it elsewhere only on a trusted network).
 *
 * - Protocol: connection.ts (one per client; at most 1,000 connections, more get 421); shared
 *   commits: group-commit.ts.
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
import net, { type AddressInfo } from "node:net";
import type { Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { lmtpMetrics } from "../observability/metrics.ts";
import { IngestError, prepare, type IngestItem, type IngestResult, type Prepared } from "../quarantine/ingest.ts";
import { PreparePool } from "../quarantine/prepare-pool.ts";
import { WordIndexer } from "../quarantine/word-index.ts";
import { isKnownRecipient } from "../quarantine/accounts.ts";
import { normalizeAddress } from "../quarantine/scope.ts";
import type { Store } from "../storage/db.ts";
import { WriterThread } from "../storage/writer-thread.ts";
import { verdictFromHeaders } from "./classify.ts";
import { LmtpConnection, type LmtpHandlers } from "./connection.ts";
import { GroupCommitter } from "./group-commit.ts";

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


/** Deliveries being prepared up to which the next is prepared on the main thread (2: best measured at 4 and 16 connections). */
const INLINE_PREPARE_MAX = 2;

/** Connections beyond which new ones get 421. */
const MAX_CONNECTIONS = 1000;

/**
 * Deliveries skip the word list and the compact container: the word indexer adds both when they
 * pause (word-index.ts). Measured at 4 connections: 1,400 → 1,750 msg/s for the compact form.
 */
const PREPARE_OPTIONS = { words: false, compact: false };

function prepareInline(item: IngestItem): (Prepared | IngestError)[] {
  try {
    return [prepare(item, PREPARE_OPTIONS)];
  } catch (e) {
    if (e instanceof IngestError) return [e];
    throw e;
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
    const known = await isKnownRecipient(this.store, address);
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
  // Deliveries past DATA and not yet answered (a client that drops mid-DATA is taken off when
  // its connection closes), so the committer knows who may still join a commit.
  let underWay = 0;
  const ownWriter = opts.writer === undefined && store.localFile ? await WriterThread.start() : undefined;
  if (opts.writer === undefined && store.localFile && !ownWriter) log("warn", "lmtp.writer_thread_unavailable", { fallback: "main thread" });
  const writer = opts.writer || ownWriter;
  const committer = new GroupCommitter(
    store,
    cfg.groupCommitMs,
    config.retention.defaultDays,
    () => underWay,
    (ids) => {
      words.kick(ids.length);
      opts.onIngested?.(ids);
    },
    writer,
  );
  const recipients = new RecipientCheck(store);
  const stats = { messages: 0, rows: 0, commits: 0, threadCommits: 0, rejected: 0 };
  let inFlight = 0;

  const handlers: LmtpHandlers = {
    hostname: config.hostname,
    maxMessageBytes: cfg.maxMessageBytes,
    maxRecipients: cfg.maxRecipients,
    underWay: (on) => void (underWay += on ? 1 : -1),
    async checkRecipient(address) {
      const rcpt = normalizeAddress(address);
      if (!/^[^@\s\u0000-\u001f\u007f]+@[^@\s\u0000-\u001f\u007f]+$/.test(rcpt)) {
        lmtpMetrics.recipients.inc({ result: "invalid" });
        return `550 5.1.3 <${address.replace(/[\u0000-\u001f\u007f]/g, "?")}>: bad recipient address syntax`;
      }
      try {
        if (cfg.unknownRecipients === "accept" || (await recipients.known(rcpt))) {
          lmtpMetrics.recipients.inc({ result: "accepted" });
          return undefined;
        }
      } catch (e) {
        log("error", "lmtp.rcpt_lookup_failed", { error: String(e) });
        lmtpMetrics.recipients.inc({ result: "lookup_failed" });
        return "451 4.3.0 Temporary lookup failure";
      }
      stats.rejected++;
      lmtpMetrics.recipients.inc({ result: "unknown" });
      return `550 5.1.1 <${address}>: unknown recipient, no quarantine for this domain`;
    },
    deliver: (message) => deliver(message.raw, message.from, message.recipients, message.remoteAddress),
  };

  /** Stores one message for its accepted recipients; the reply lines, one per recipient. */
  async function deliver(raw: Buffer, from: string, rcpts: string[], clientAddr: string | null): Promise<string[]> {
    lmtpMetrics.bytes.inc({}, raw.length);
    const all = (line: string) => rcpts.map(() => line);
    const refusal = (e: unknown) => {
      const refused = e instanceof IngestError;
      lmtpMetrics.deliveries.inc({ result: refused ? "refused" : "failed" });
      return all(refused ? `554 5.6.0 Cannot store message: ${(e as Error).message}` : `451 4.3.0 Cannot store message: ${(e as Error).message}`);
    };
    let item: IngestItem;
    try {
      const verdict = verdictFromHeaders(raw, cfg.scoreHeaders);
      item = { raw, recipients: rcpts, sender: from, score: verdict.score, reason: verdict.reason, direction };
    } catch (e) {
      return refusal(e);
    }
    // With few deliveries in flight, preparing here is quicker than a hop to a worker; under
    // load the prepare workers take it so the main thread keeps talking LMTP and committing.
    inFlight++;
    let prepared: Prepared | IngestError;
    try {
      [prepared] = inFlight <= INLINE_PREPARE_MAX ? prepareInline(item) : await pool.prepare([item], PREPARE_OPTIONS);
    } catch (e) {
      return refusal(e);
    } finally {
      inFlight--;
    }
    if (prepared instanceof IngestError) return refusal(prepared);
    let res: IngestResult;
    try {
      res = await committer.submit(prepared, clientAddr);
    } catch (e) {
      log("error", "lmtp.ingest_failed", { error: String(e) });
      lmtpMetrics.deliveries.inc({ result: "failed" });
      return all("451 4.3.0 Temporary failure storing the message, try again");
    }
    lmtpMetrics.deliveries.inc({ result: "stored" });
    stats.messages++;
    stats.rows += res.ids.length;
    stats.commits = committer.commits;
    stats.threadCommits = committer.threadCommits;
    // prepare() de-duplicates recipients; map each RCPT to its row.
    const byRcpt = new Map(prepared.recipients.map((r, i) => [r, res.ids[i]]));
    return rcpts.map((r) => `250 2.0.0 <${r}> quarantined as ${byRcpt.get(normalizeAddress(r)) ?? res.ids[0]}`);
  }

  const connections = new Set<LmtpConnection>();
  const server = net.createServer((socket) => {
    if (connections.size >= MAX_CONNECTIONS) {
      socket.end("421 4.3.2 Too many connections, try again later\r\n");
      return;
    }
    lmtpMetrics.connectionsTotal.inc();
    const c = new LmtpConnection(socket, handlers);
    connections.add(c);
    socket.on("close", () => connections.delete(c));
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
  const addr = server.address() as AddressInfo;
  log("info", "lmtp.listening", { host, port: addr.port });
  return {
    port: addr.port,
    host,
    stats,
    async stop() {
      // No new connections; idle ones are told so; deliveries under way get up to 5 s to finish.
      const closed = new Promise<void>((r) => server.close(() => r()));
      const until = Date.now() + 5000;
      for (;;) {
        for (const c of connections) if (!c.busy) c.close("421 4.3.2 Server shutting down");
        if (connections.size === 0 || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const c of connections) c.close();
      await closed;
      await committer.close();
      if (ownWriter) ownWriter.close();
      else if (writer && store.localFile) writer.forget(store.localFile);
      if (!opts.words) await words.stop();
      if (!opts.pool) pool.close();
    },
  };
}
