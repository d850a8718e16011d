/**
 * The IMAP listeners: implicit TLS (993) and STARTTLS (143) on raw TCP, with connection
 * limits in total and per address. Each accepted socket becomes an ImapSession.
 */
import net from "node:net";
import type { TLSSocket } from "node:tls";
import type { CredentialCache } from "../auth/credential-cache.ts";
import type { Config } from "../config/index.ts";
import { log } from "../observability/log.ts";
import { imapMetrics } from "../observability/metrics.ts";
import { Mailbox } from "../quarantine/mailbox.ts";
import { CodecPool } from "../storage/codec-pool.ts";
import { getMeta, type Store } from "../storage/db.ts";
import { createTlsServer, type TlsContextStore } from "../tls/index.ts";
import { ListingCache } from "./fetch/listing-cache.ts";
import { WordIndexer } from "../quarantine/word-index.ts";
import { SearchFactCache } from "./search/cache.ts";
import { ChangeNotifier } from "./session/notifier.ts";
import { ImapSession } from "./session/session.ts";
import { LiteralBudget } from "./session/literal-budget.ts";
import { LoginThrottle } from "./session/throttle.ts";
import type { SessionDeps } from "./session/types.ts";
import { ViewCache } from "./session/view-cache.ts";

export interface ImapDeps {
  config: Config;
  store: Store;
  tls: TlsContextStore;
  credentials: CredentialCache;
  onQueued?: () => void;
  /** the word indexer SEARCH TEXT/BODY catches up first (default: one of our own) */
  words?: WordIndexer;
}

export interface ImapServer {
  ports: { imaps?: number; imap?: number };
  notifier: ChangeNotifier;
  listening(): boolean;
  describe(): Record<string, unknown>;
  sessions(): number;
  stop(): Promise<void>;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 1024 }, () => {
      server.off("error", reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startImap(deps: ImapDeps): Promise<ImapServer> {
  const { config, store } = deps;
  const codec = new CodecPool();
  const mailbox = new Mailbox(store, codec);
  const notifier = new ChangeNotifier(store, 500);
  const words = deps.words ?? new WordIndexer(store);
  await notifier.start();
  const sessionDeps: SessionDeps = {
    config,
    store,
    mailbox,
    tls: deps.tls,
    credentials: deps.credentials,
    notifier,
    throttle: new LoginThrottle(config.limits.failedLoginsPerIpPerMinute),
    views: new ViewCache(mailbox),
    searchFacts: new SearchFactCache(store, words),
    listings: new ListingCache(store, config.limits.listingCacheMb * 1024 * 1024),
    literals: new LiteralBudget(config.limits.literalMemoryMb * 1024 * 1024),
    uidValidityBase: Number((await getMeta(store, "uidvalidity")) ?? 1),
    onQueued: deps.onQueued,
  };

  const sessions = new Set<ImapSession>();
  const perIp = new Map<string, number>();
  const servers: { name: string; server: net.Server; port: number }[] = [];

  /** Admission control; returns false (after a BYE) when a limit is reached. */
  const admit = (sock: net.Socket, name: string): boolean => {
    const ip = (sock.remoteAddress ?? "?").replace(/^::ffff:/, "");
    const n = perIp.get(ip) ?? 0;
    let refuse: string | undefined;
    if (sessions.size >= config.limits.maxConnections) refuse = "Too many connections to this server; try again later";
    else if (n >= config.limits.maxConnectionsPerIp) refuse = "Too many connections from your address";
    if (refuse) {
      imapMetrics.errors.inc({ kind: "connection_limit" });
      sock.end(`* BYE [UNAVAILABLE] ${refuse}\r\n`);
      setTimeout(() => sock.destroy(), 1000).unref?.();
      return false;
    }
    perIp.set(ip, n + 1);
    sock.once("close", () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
    return true;
  };

  const start = (sock: net.Socket, name: string, secure: boolean) => {
    sock.setNoDelay(true);
    const session = new ImapSession(sock, sessionDeps, name, secure);
    sessions.add(session);
    imapMetrics.connectionsOpen.inc({ listener: name });
    imapMetrics.connectionsTotal.inc({ listener: name });
    session.onClose(() => {
      sessions.delete(session);
      imapMetrics.connectionsOpen.dec({ listener: name });
    });
    void session.greet();
  };

  const host = (h?: string) => h ?? config.host;
  const { implicitTls, starttls } = config.imap;
  try {
    if (implicitTls.enabled) {
      const server = createTlsServer(deps.tls, (sock: TLSSocket) => {
        if (!admit(sock, "imaps")) return;
        imapMetrics.tlsSessions.inc({ listener: "imaps", version: sock.getProtocol() ?? "unknown" });
        start(sock, "imaps", true);
      });
      // A failed handshake (TLS 1.1, garbage) is the client's problem, not ours.
      server.on("tlsClientError", () => imapMetrics.errors.inc({ kind: "tls_handshake" }));
      const port = await listen(server, host(implicitTls.host), implicitTls.port);
      servers.push({ name: "imaps", server, port });
    }
    if (starttls.enabled) {
      const server = net.createServer((sock) => {
        if (!admit(sock, "imap")) return;
        start(sock, "imap", false);
      });
      const port = await listen(server, host(starttls.host), starttls.port);
      servers.push({ name: "imap", server, port });
    }
  } catch (e) {
    // A listener that could not start: undo the parts that did, so the process can exit.
    notifier.stop();
    codec.close();
    if (!deps.words) void words.stop();
    for (const x of servers) x.server.close();
    throw e;
  }
  for (const s of servers) log("info", "imap.listening", { listener: s.name, port: s.port });
  // Warm the SEARCH facts and listing data in the background: the first search or folder
  // listing after a start is then as fast as any.
  void sessionDeps.searchFacts
    .warm()
    .then(() => sessionDeps.listings.warm())
    .catch((e) => log("warn", "imap.cache.warm_failed", { error: String(e) }));

  return {
    ports: Object.fromEntries(servers.map((s) => [s.name, s.port])) as ImapServer["ports"],
    notifier,
    listening: () => servers.every((s) => s.server.listening),
    describe: () => ({ imap: servers.map((s) => ({ name: s.name, port: s.port, listening: s.server.listening })), sessions: sessions.size }),
    sessions: () => sessions.size,
    async stop() {
      notifier.stop();
      codec.close();
      if (!deps.words) await words.stop();
      for (const s of servers) s.server.close();
      for (const session of sessions) session.fatal("Server shutting down");
      await new Promise((r) => setTimeout(r, 50));
    },
  };
}
