/**
 * One hot-reloadable TLS context shared by every listener (IMAPS, STARTTLS, LMTP, HTTPS).
 *
 * Portable hot reload (STACK-NOTES §4): keep the current SecureContext in a field, swap it
 * on reload, and hand it out from SNICallback and to each STARTTLS TLSSocket. Deno calls
 * SNICallback even when the client sends no SNI; for Node/Bun clients without SNI the
 * server's default context is used, so listeners should also call `attach(server)` which
 * pushes every reload into server.setSecureContext().
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync, watch as fsWatch, type FSWatcher } from "node:fs";
import type { Socket } from "node:net";
import { basename, dirname } from "node:path";
import * as tls from "node:tls";
import { onSignal } from "../runtime/runtime.ts";
import type { TlsFiles } from "./selfsigned.ts";

export type TlsLog = (event: string, fields: Record<string, unknown>) => void;

const MIN_VERSION = "TLSv1.2" as const;
/**
 * TLS 1.3 suites first (all three are AEAD + forward secret), then ECDHE-only AEAD suites
 * for TLS 1.2. No RSA key exchange, no CBC, no static DH.
 */
const CIPHERS = [
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  "TLS_AES_128_GCM_SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "ECDHE-RSA-AES128-GCM-SHA256",
].join(":");

const DEBOUNCE_MS = 250;

interface Loaded { ctx: tls.SecureContext; cert: string; key: string; notAfter: Date; serial: string }

export class TlsContextStore {
  #loaded: Loaded | undefined;
  readonly #servers = new Set<tls.Server>();

  readonly files: TlsFiles;
  private readonly log: TlsLog;

  constructor(files: TlsFiles, log: TlsLog = () => {}) {
    this.files = files;
    this.log = log;
  }

  /** Read and validate both files; throws a TlsFileError that names the offending file. Keeps the old context on failure. */
  load(): void {
    const { cert, key, x, ctx } = readTlsPair(this.files);
    const notAfter = new Date(x.validTo);
    // Runtimes differ on leading zeros (Deno drops them); normalise so logs and tests compare.
    const serial = normSerial(x.serialNumber);
    this.#loaded = { ctx, cert, key, notAfter, serial };
    for (const s of this.#servers) s.setSecureContext(this.#contextOptions());
    if (notAfter.getTime() < Date.now()) this.log("tls.cert_expired", { certPath: this.files.certPath, notAfter: notAfter.toISOString() });
  }

  /** load() that logs instead of throwing; returns whether the new files are now in use. */
  reload(): boolean {
    try {
      this.load();
      this.log("tls.reloaded", { serial: this.serial, notAfter: this.notAfter.toISOString() });
      return true;
    } catch (e) {
      this.log("tls.reload_failed", { error: msg(e), keptSerial: this.#loaded?.serial });
      return false;
    }
  }

  get current(): tls.SecureContext {
    return this.#need().ctx;
  }

  get notAfter(): Date {
    return this.#need().notAfter;
  }

  /** Serial number of the certificate in use: upper-case hex without leading zeros. */
  get serial(): string {
    return this.#need().serial;
  }

  #need(): Loaded {
    if (!this.#loaded) throw new Error("TlsContextStore: load() has not been called");
    return this.#loaded;
  }

  #contextOptions(): tls.SecureContextOptions {
    const l = this.#need();
    return { cert: l.cert, key: l.key, minVersion: MIN_VERSION, ciphers: CIPHERS };
  }

  /** The SNI callback: always the current context (one certificate for every name). */
  readonly sniCallback = (_servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    cb(null, this.current);
  };

  /** Options for tls.createServer(); pair with attach(server) so no-SNI clients also see reloads. */
  serverOptions(): tls.TlsOptions {
    return { ...this.#contextOptions(), honorCipherOrder: true, SNICallback: this.sniCallback };
  }

  /** Keep a server's default context in step with reloads (for clients that send no SNI on Node/Bun). */
  attach(server: tls.Server): () => void {
    this.#servers.add(server);
    server.once("close", () => this.#servers.delete(server));
    return () => void this.#servers.delete(server);
  }

  /** Reload on SIGHUP and when either file changes. Returns a stop function. */
  watch(): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      clearTimeout(timer);
      // Debounce: editors and certbot write several times (temp file, rename, chmod).
      timer = setTimeout(() => this.reload(), DEBOUNCE_MS);
      timer.unref?.();
    };
    const stops: Array<() => void> = [onSignal("SIGHUP", () => this.reload())];
    // Watch the directories, not the files: a replaced (renamed-over) file is a new inode
    // that a file watch would never report.
    const byDir = new Map<string, Set<string>>();
    for (const p of [this.files.certPath, this.files.keyPath]) {
      const d = dirname(p);
      if (!byDir.has(d)) byDir.set(d, new Set());
      byDir.get(d)!.add(basename(p));
    }
    for (const [dir, names] of byDir) {
      let w: FSWatcher;
      try {
        w = fsWatch(dir, { persistent: false }, (_ev, name) => {
          // Some platforms omit the name; then any change in the directory counts.
          if (name == null || names.has(String(name))) schedule();
        });
      } catch (e) {
        this.log("tls.watch_failed", { dir, error: msg(e) });
        continue;
      }
      w.on("error", (e) => this.log("tls.watch_failed", { dir, error: msg(e) }));
      stops.push(() => w.close());
    }
    return () => {
      clearTimeout(timer);
      for (const s of stops) s();
    };
  }
}

/** A certificate or key file that cannot be used; `file` says which of the pair, `detail` why. */
export class TlsFileError extends Error {
  constructor(readonly file: "cert" | "key", readonly detail: string) {
    super(`TLS ${file === "cert" ? "certificate" : "private key"}: ${detail}`);
  }
}

/** Reads a certificate and its key and checks that they are usable together. */
export function readTlsPair({ certPath, keyPath }: TlsFiles): { cert: string; key: string; x: X509Certificate; ctx: tls.SecureContext } {
  const cert = readPem(certPath, "cert");
  const key = readPem(keyPath, "key");
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
  } catch (e) {
    throw new TlsFileError("cert", `${certPath} is not a valid PEM certificate: ${msg(e)}`);
  }
  // Check the key ourselves: Deno's createSecureContext accepts a bad key and fails
  // only at the first handshake, which would turn a bad reload into broken connections.
  let keyObj: KeyObject;
  try {
    keyObj = createPrivateKey(key);
  } catch (e) {
    throw new TlsFileError("key", `${keyPath} is not a valid PEM private key: ${msg(e)}`);
  }
  if (!x.checkPrivateKey(keyObj)) throw new TlsFileError("key", `${keyPath} does not belong to the certificate ${certPath}`);
  try {
    return { cert, key, x, ctx: tls.createSecureContext({ cert, key, minVersion: MIN_VERSION, ciphers: CIPHERS }) };
  } catch (e) {
    throw new TlsFileError("key", `${keyPath} cannot be used with the certificate ${certPath}: ${msg(e)}`);
  }
}

function readPem(path: string, file: "cert" | "key"): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new TlsFileError(file, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? msg(e)}`);
  }
}

/** Upper-case hex, no leading zeros, no colons: the same string on every runtime. */
export function normSerial(serial: string): string {
  return serial.replace(/:/g, "").toUpperCase().replace(/^0+(?=.)/, "");
}

function msg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** An implicit-TLS server wired for hot reload (serverOptions + attach): use this for every TLS listener. */
export function createTlsServer(store: TlsContextStore, onSecure: (s: tls.TLSSocket) => void): tls.Server {
  const server = tls.createServer(store.serverOptions(), onSecure);
  store.attach(server);
  return server;
}

/**
 * Server side of STARTTLS. The caller must have stopped consuming plaintext (removed its
 * data listener) and already written the "OK Begin TLS" reply.
 */
export function upgradeToTls(sock: Socket, store: TlsContextStore): tls.TLSSocket {
  // Deno gotcha (STACK-NOTES §4): without pause() the handshake silently never completes.
  sock.pause();
  return new tls.TLSSocket(sock, { isServer: true, secureContext: store.current, SNICallback: store.sniCallback });
}
