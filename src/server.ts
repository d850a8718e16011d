/**
 * The composition root of `quarantined serve`: opens the store, makes sure the super-admin and
 * a certificate exist, starts the IMAP, HTTP (and later LMTP) listeners and the background
 * jobs, and returns a handle that stops them all. Tests start servers in-process through it.
 */
import { join, resolve } from "node:path";
import { ConfigError, type Config } from "./config/index.ts";
import { CredentialCache } from "./auth/credential-cache.ts";
import { openFromConfig } from "./cli/context.ts";
import { kick as kickWorkers, OutboxWorker, registerWorker } from "./delivery/index.ts";
import { createHttpApp, createOpsApp, type HttpDeps } from "./http/app.ts";
import { startImap, type ImapServer } from "./imap/server.ts";
import { PreparePool } from "./quarantine/prepare-pool.ts";
import { WordIndexer } from "./quarantine/word-index.ts";
import { startLmtp, type LmtpServer } from "./lmtp/server.ts";
import { log } from "./observability/log.ts";
import { ensureAdmin } from "./quarantine/accounts.ts";
import { expire } from "./quarantine/expiry.ts";
import { serveHttp, type HttpHandle } from "./runtime/http-serve.ts";
import type { Store } from "./storage/db.ts";
import { configuredTls, ensureSelfSigned, TlsContextStore, TlsFileError } from "./tls/index.ts";
import { TrainingWorker } from "./training/worker.ts";
import { VERSION } from "./version.ts";

export interface RunningServer {
  config: Config;
  store: Store;
  tls: TlsContextStore;
  imap: ImapServer;
  http?: HttpHandle;
  /** the separate ops listener (config http.ops) */
  ops?: HttpHandle;
  lmtp?: LmtpServer;
  outbox: OutboxWorker;
  training: TrainingWorker;
  /** wake the outbox and training workers now (after an action queued something) */
  kick(): void;
  ports: { imaps?: number; imap?: number; http?: number; ops?: number; lmtp?: number };
  /** set when the admin password was generated on this start */
  generatedAdminPassword?: string;
  stop(): Promise<void>;
}

/**
 * Starts everything; when any part fails (a port in use, say) the parts already started are
 * stopped again, so the process can exit, and a listen error becomes one line naming the address.
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const stops: (() => unknown)[] = [];
  try {
    return await startAll(config, stops);
  } catch (e) {
    for (const stop of stops) await Promise.resolve().then(stop).catch(() => {});
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err && (err.code === "EADDRINUSE" || err.code === "EACCES" || err.code === "EADDRNOTAVAIL")) {
      const hint = err.code === "EACCES" ? ": ports below 1024 need root" : err.code === "EADDRINUSE" ? ": another process has the port" : "";
      if (err.port !== undefined) throw new ConfigError(`cannot listen on ${err.address ?? config.host}:${err.port} (${err.code}${hint})`);
      throw new ConfigError(`cannot start a listener: ${String(err.message).split("\n")[0]} (${err.code}${hint})`);
    }
    throw e;
  }
}

/**
 * The configured certificate, else the self-signed one in <dataDir>/tls (made on first start),
 * loaded. A file that cannot be used is the operator's to fix: one line, like a bad config key.
 */
async function openTls(config: Config): Promise<TlsContextStore> {
  try {
    // a failed reload or an expired certificate needs the operator: warn, the rest is info
    const tlsLog = (event: string, fields: Record<string, unknown>) => log(/failed|expired/.test(event) ? "warn" : "info", event, fields);
    const files = configuredTls(config.tls) ?? (await ensureSelfSigned(resolve(config.dataDir), config.hostname, tlsLog));
    const tls = new TlsContextStore(files, tlsLog);
    tls.load();
    return tls;
  } catch (e) {
    throw e instanceof TlsFileError ? new ConfigError(e.message) : e;
  }
}

async function startAll(config: Config, stops: (() => unknown)[]): Promise<RunningServer> {
  const startedAt = Date.now();
  // The certificate first: one that cannot be used stops the start before the database is
  // created or the super-admin is made.
  const tls = await openTls(config);
  const files = tls.files;
  stops.push(tls.watch());

  const store = await openFromConfig(config, { create: true });
  stops.push(() => store.close());

  const admin = await ensureAdmin(store, config.admin.login, config.admin.password);
  if (admin.generated) {
    // Printed once, on the start that created the account; never logged afterwards.
    process.stderr.write(`quarantined: created super-admin "${config.admin.login}" with password: ${admin.generated}\n`);
  }

  const credentials = new CredentialCache({ ttlMs: config.limits.credentialCacheSeconds * 1000 });
  // The word index LMTP deliveries leave out, built in the background here (and by SEARCH); with
  // LMTP on, the indexer and LMTP share one pool of prepare workers.
  const preparePool = config.lmtp.enabled ? new PreparePool() : undefined;
  const words = new WordIndexer(store, preparePool).start();
  stops.unshift(() => preparePool?.close());
  stops.unshift(() => words.stop());
  const imap = await startImap({ config, store, tls, credentials, words, onQueued: () => kickWorkers() });
  stops.unshift(() => imap.stop());

  let http: HttpHandle | undefined;
  let ops: HttpHandle | undefined;
  let lmtp: LmtpServer | undefined;
  const opsEnabled = config.http.ops.enabled;
  if (config.http.enabled || opsEnabled) {
    const httpHost = config.http.host ?? config.host;
    const opsHost = config.http.ops.host ?? httpHost;
    const deps: HttpDeps = {
      version: VERSION,
      startedAt,
      store,
      config,
      credentials,
      readiness: { imap: async () => imap.listening() },
      // database and outbox checks, gauges, status page, onboarding and the admin API come from the store and config
      listeners: () => [
        ...(config.imap.implicitTls.enabled
          ? [{ name: "imaps", protocol: "IMAP", host: config.imap.implicitTls.host ?? config.host, port: imap.ports.imaps ?? null, tls: "implicit" as const, bound: imap.listening() }]
          : []),
        ...(config.imap.starttls.enabled
          ? [{ name: "imap", protocol: "IMAP", host: config.imap.starttls.host ?? config.host, port: imap.ports.imap ?? null, tls: "starttls" as const, bound: imap.listening() }]
          : []),
        ...(config.http.enabled ? [{ name: "http", protocol: "HTTP", host: httpHost, port: http?.port ?? null, tls: "none" as const, bound: http !== undefined }] : []),
        ...(opsEnabled ? [{ name: "ops", protocol: "HTTP", host: opsHost, port: ops?.port ?? null, tls: "none" as const, bound: ops !== undefined }] : []),
        ...(config.lmtp.enabled ? [{ name: "lmtp", protocol: "LMTP", host: config.lmtp.host, port: lmtp?.port ?? null, tls: "none" as const, bound: lmtp !== undefined }] : []),
      ],
      certificateNotAfter: () => tls.notAfter,
      imapEndpoints: () => ({
        hostname: config.hostname,
        imaps: config.imap.implicitTls.enabled ? (config.imap.implicitTls.port || imap.ports.imaps) : undefined,
        imap: config.imap.starttls.enabled ? (config.imap.starttls.port || imap.ports.imap) : undefined,
      }),
      status: async () => ({ imap: imap.describe() }),
      // with http.ops enabled, /healthz, /readyz, /metrics and /status move to that listener
      separateOps: opsEnabled,
    };
    if (config.http.enabled) {
      const app = createHttpApp(deps);
      http = await serveHttp(app.fetch, httpHost, config.http.port);
      stops.unshift(() => app.dispose());
      stops.unshift(() => http!.stop());
    }
    if (opsEnabled) {
      const opsApp = createOpsApp(deps);
      ops = await serveHttp(opsApp.fetch, opsHost, config.http.ops.port);
      stops.unshift(() => opsApp.dispose());
      stops.unshift(() => ops!.stop());
    }
  }

  // Expiry on a timer; several processes may run it, each batch is its own transaction.
  const runExpiry = () =>
    expire(store)
      .then((r) => r.expired + r.collectedBlobs > 0 && log("info", "expiry", { ...r }))
      .catch((e) => log("error", "expiry.failed", { error: String(e) }));
  const expiryTimer = setInterval(runExpiry, config.retention.expireIntervalSeconds * 1000);
  stops.unshift(() => clearInterval(expiryTimer));
  void runExpiry();

  // Background delivery: the release outbox and training reports (leased rows, so any number
  // of processes sharing the database may run them). kick() from src/delivery wakes them.
  const outbox = new OutboxWorker({ store, config });
  const training = new TrainingWorker({ store, config });
  const unregister = [registerWorker(outbox), registerWorker(training)];
  outbox.start();
  training.start();
  stops.unshift(async () => {
    for (const u of unregister) u();
    await Promise.all([outbox.stop(), training.stop()]);
  });

  if (config.lmtp.enabled) {
    lmtp = await startLmtp({ store, config, words, pool: preparePool });
    stops.unshift(() => lmtp!.stop());
  }

  const ports = { ...imap.ports, http: http?.port, ...(ops ? { ops: ops.port } : {}), lmtp: lmtp?.port };
  log("info", "server.started", { version: VERSION, ports, database: store.kind, dataDir: resolve(config.dataDir), cert: join(files.certPath) });
  return {
    config,
    store,
    tls,
    imap,
    http,
    ops,
    lmtp,
    outbox,
    training,
    kick: kickWorkers,
    ports,
    generatedAdminPassword: admin.generated,
    async stop() {
      for (const s of stops) await s();
    },
  };
}
