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
  /** connections counted against the limits (from TCP accept, so TLS handshakes included) */
  connections(): number;
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
  /** Connections counted against the limits: from TCP accept until closed, TLS handshakes included. */
  let admitted = 0;
  const perIp = new Map<string, number>();
  /** implicit-TLS connections still in their handshake, by client address and port */
  const handshaking = new Map<string, { raw: net.Socket; release: () => void; timer: ReturnType<typeof setTimeout> }>();
  const connKey = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const servers: { name: string; server: net.Server; port: number }[] = [];

  /**
   * Admission control at TCP accept. Returns the function that frees the connection's slot (it
   * does so once, however often it is called), or undefined when a limit is reached: the plain
   * port then says BYE; the implicit-TLS port can say nothing before a handshake, so it closes
   * the connection at once rather than spend a handshake (and a file descriptor) on it.
   */
  const admit = (sock: net.Socket, name: string): (() => void) | undefined => {
    const ip = (sock.remoteAddress ?? "?").replace(/^::ffff:/, "");
    const n = perIp.get(ip) ?? 0;
    let refuse: string | undefined;
    if (admitted >= config.limits.maxConnections) refuse = "Too many connections to this server; try again later";
    else if (n >= config.limits.maxConnectionsPerIp) refuse = "Too many connections from your address";
    if (refuse) {
      imapMetrics.errors.inc({ kind: "connection_limit" });
      if (name === "imaps") {
        sock.destroy();
      } else {
        sock.end(`* BYE [UNAVAILABLE] ${refuse}\r\n`);
        setTimeout(() => sock.destroy(), 1000).unref?.();
      }
      return undefined;
    }
    admitted++;
    perIp.set(ip, n + 1);
    let freed = false;
    const release = () => {
      if (freed) return;
      freed = true;
      admitted--;
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    };
    sock.once("close", release);
    return release;
  };

  const start = (sock: net.Socket, name: string, secure: boolean, release: () => void) => {
    sock.setNoDelay(true);
    const session = new ImapSession(sock, sessionDeps, name, secure);
    sessions.add(session);
    imapMetrics.connectionsOpen.inc({ listener: name });
    imapMetrics.connectionsTotal.inc({ listener: name });
    session.onClose(() => {
      sessions.delete(session);
      imapMetrics.connectionsOpen.dec({ listener: name });
      // After STARTTLS the session runs on another socket object: whichever ends first frees the slot.
      release();
    });
    void session.greet();
  };

  const host = (h?: string) => h ?? config.host;
  const { implicitTls, starttls } = config.imap;
  try {
    if (implicitTls.enabled) {
      const server = createTlsServer(deps.tls, (sock: TLSSocket) => {
        const key = connKey(sock);
        const pending = handshaking.get(key);
        if (pending) clearTimeout(pending.timer);
        handshaking.delete(key);
        if (sock.destroyed) return;
        imapMetrics.tlsSessions.inc({ listener: "imaps", version: sock.getProtocol() ?? "unknown" });
        start(sock, "imaps", true, pending?.release ?? (() => {}));
      });
      // Counted from TCP accept: silent or slow handshakes hold a slot (and a file descriptor)
      // too, and get a fixed time to finish. Bun hands over the TLS socket itself here, Deno
      // the TCP socket under it; either one's 'close' frees the slot.
      server.on("connection", (raw: net.Socket) => {
        // A reset during the handshake may surface here too: never an unhandled 'error'.
        raw.on("error", () => {});
        const release = admit(raw, "imaps");
        if (!release) return;
        const key = connKey(raw);
        const timer = setTimeout(() => {
          imapMetrics.errors.inc({ kind: "tls_handshake_timeout" });
          raw.destroy();
        }, config.limits.tlsHandshakeTimeoutSeconds * 1000);
        timer.unref?.();
        handshaking.set(key, { raw, release, timer });
        raw.once("close", () => {
          clearTimeout(timer);
          if (handshaking.get(key)?.raw === raw) handshaking.delete(key);
        });
      });
      // A failed handshake (TLS 1.1, garbage) is the client's problem, not ours; the socket is
      // ours to close (with a listener here, the runtime leaves it open).
      server.on("tlsClientError", (_e: Error, sock: TLSSocket) => {
        imapMetrics.errors.inc({ kind: "tls_handshake" });
        sock.destroy();
      });
      const port = await listen(server, host(implicitTls.host), implicitTls.port);
      servers.push({ name: "imaps", server, port });
    }
    if (starttls.enabled) {
      const server = net.createServer((sock) => {
        const release = admit(sock, "imap");
        if (!release) return;
        start(sock, "imap", false, release);
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
    describe: () => ({ imap: servers.map((s) => ({ name: s.name, port: s.port, listening: s.server.listening })), sessions: sessions.size, connections: admitted }),
    sessions: () => sessions.size,
    connections: () => admitted,
    async stop() {
      notifier.stop();
      codec.close();
      if (!deps.words) await words.stop();
      for (const s of servers) s.server.close();
      for (const session of sessions) session.fatal("Server shutting down");
      for (const { raw } of handshaking.values()) raw.destroy();
      await new Promise((r) => setTimeout(r, 50));
    },
  };
}
