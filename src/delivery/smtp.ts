/**
 * The SMTP client side of a release: routes (per-domain "host:port" or the smarthost), one
 * pooled nodemailer transport per route, and the classification of every outcome into
 * delivered / temporary (retry) / permanent (back to Caught).
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import nodemailer from "nodemailer";
import type { SmtpRoute } from "../config/schema.ts";
import { log } from "../observability/log.ts";
import { oneLine } from "./loop.ts";

/** Largest CA file a route may name: a bundle of every public root is about 250 KiB. */
export const CA_FILE_MAX_BYTES = 1024 * 1024;

/** A route's CA file cannot be used; the message's delivery fails permanently (back to Caught). */
export class CaFileError extends Error {}

/**
 * Reads a route's CA file without ever blocking the event loop: opened non-blocking (a FIFO
 * opens at once instead of waiting for a writer), then only a regular file of at most
 * `maxBytes` is read, asynchronously. Symlinks are followed; what they point to is checked.
 */
export async function readCaFile(path: string, maxBytes = CA_FILE_MAX_BYTES): Promise<Buffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new CaFileError(`cannot be opened (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new CaFileError("is not a regular file");
    if (st.size > maxBytes) throw new CaFileError(`is larger than ${maxBytes} bytes`);
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 4096)));
    let n = 0;
    for (;;) {
      if (n === buf.length) throw new CaFileError(`is larger than ${maxBytes} bytes`);
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n === 0) throw new CaFileError("is empty");
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof CaFileError) throw e;
    throw new CaFileError(`cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  } finally {
    await fh.close().catch(() => {});
  }
}

export interface ResolvedRoute {
  host: string;
  port: number;
  /** implicit TLS */
  secure: boolean;
  starttls: "required" | "opportunistic" | "off";
  user?: string;
  password?: string;
  caFile?: string;
  rejectUnauthorized: boolean;
  /** where the route came from, for logs and the audit log */
  source: "domain" | "smarthost";
}

export type SendOutcome =
  | { kind: "delivered"; reply: string }
  | { kind: "temporary"; reply: string }
  | { kind: "permanent"; reply: string };

/** "host", "host:port", "[v6]", "[v6]:port" → host and port (default 25). */
export function parseHostPort(s: string, defaultPort = 25): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return undefined;
  const port = m[3] ? Number(m[3]) : defaultPort;
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2], port };
}

/**
 * The route of a recipient domain. A per-domain route (domains.route) takes the TLS policy of
 * the smarthost config (STARTTLS mode, CA file, verification) but never its credentials, which
 * belong to the smarthost alone; port 465 means implicit TLS. Per-domain overrides may be given
 * in domains.options as {"smtp": {secure, starttls, user, password, caFile, rejectUnauthorized}}.
 */
export function resolveRoute(domainRoute: string | null | undefined, domainOptions: string | null | undefined, smarthost: SmtpRoute | undefined): ResolvedRoute | undefined {
  if (domainRoute) {
    const hp = parseHostPort(domainRoute);
    if (!hp) return undefined;
    let o: Partial<SmtpRoute> = {};
    try {
      const parsed = JSON.parse(domainOptions || "{}") as { smtp?: Partial<SmtpRoute> };
      if (parsed && typeof parsed.smtp === "object" && parsed.smtp) o = parsed.smtp;
    } catch {
      /* options are validated where they are written; a bad blob just means no overrides */
    }
    return {
      host: hp.host,
      port: hp.port,
      secure: typeof o.secure === "boolean" ? o.secure : hp.port === 465,
      starttls: o.starttls ?? smarthost?.starttls ?? "opportunistic",
      user: o.user,
      password: o.password,
      caFile: o.caFile ?? smarthost?.caFile,
      rejectUnauthorized: o.rejectUnauthorized ?? smarthost?.rejectUnauthorized ?? true,
      source: "domain",
    };
  }
  if (!smarthost) return undefined;
  return {
    host: smarthost.host,
    port: smarthost.port,
    secure: smarthost.secure,
    starttls: smarthost.starttls,
    user: smarthost.user,
    password: smarthost.password,
    caFile: smarthost.caFile,
    rejectUnauthorized: smarthost.rejectUnauthorized,
    source: "smarthost",
  };
}

export function routeLabel(r: ResolvedRoute): string {
  return `${r.host.includes(":") ? `[${r.host}]` : r.host}:${r.port}`;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Turns a nodemailer error into the outcome of the attempt. */
export function classify(e: unknown): SendOutcome {
  const err = e as SmtpError;
  const code = typeof err?.responseCode === "number" ? err.responseCode : undefined;
  const reply = oneLine(err?.response ?? `${err?.code ? err.code + ": " : ""}${err?.message ?? String(e)}`);
  // Authentication and TLS problems are the operator's to fix, not the message's fault:
  // retry them (until the maximum age) instead of bouncing the message back to Caught.
  if (err?.code === "EAUTH" || err?.code === "ETLS" || err?.code === "ENOAUTH") return { kind: "temporary", reply };
  if (code !== undefined && code >= 500 && code < 600) return { kind: "permanent", reply };
  return { kind: "temporary", reply };
}

export interface SmtpClientOptions {
  heloName?: string;
  /** connections per route */
  maxConnections: number;
  connectionTimeoutMs: number;
  socketTimeoutMs: number;
}

type Transport = ReturnType<typeof nodemailer.createTransport>;

/** Pooled transports, one per distinct route. */
export class SmtpClient {
  private transports = new Map<string, Promise<Transport>>();
  private caCache = new Map<string, Buffer>();

  constructor(private readonly opts: SmtpClientOptions) {}

  private transport(r: ResolvedRoute): Promise<Transport> {
    const key = JSON.stringify([r.host, r.port, r.secure, r.starttls, r.user, r.password, r.caFile, r.rejectUnauthorized]);
    let t = this.transports.get(key);
    if (!t) {
      t = this.createTransport(r);
      this.transports.set(key, t);
      // A failed setup (a bad CA file) is tried again by the next message, once it is fixed.
      t.catch(() => this.transports.delete(key));
    }
    return t;
  }

  private async createTransport(r: ResolvedRoute): Promise<Transport> {
    let ca: Buffer | undefined;
    if (r.caFile) {
      ca = this.caCache.get(r.caFile);
      if (!ca) {
        ca = await readCaFile(r.caFile);
        this.caCache.set(r.caFile, ca);
      }
    }
    return nodemailer.createTransport({
      pool: true,
      maxConnections: this.opts.maxConnections,
      maxMessages: 1000,
      host: r.host,
      port: r.port,
      secure: r.secure,
      requireTLS: !r.secure && r.starttls === "required",
      ignoreTLS: !r.secure && r.starttls === "off",
      opportunisticTLS: !r.secure && r.starttls === "opportunistic",
      auth: r.user ? { user: r.user, pass: r.password ?? "" } : undefined,
      name: this.opts.heloName,
      connectionTimeout: this.opts.connectionTimeoutMs,
      greetingTimeout: this.opts.connectionTimeoutMs,
      socketTimeout: this.opts.socketTimeoutMs,
      tls: { ca: ca ? [ca] : undefined, rejectUnauthorized: r.rejectUnauthorized, servername: /^[\d.:]+$/.test(r.host) ? undefined : r.host, minVersion: "TLSv1.2" },
      logger: false,
      debug: false,
    });
  }

  /** One message to one recipient; never throws. */
  async send(route: ResolvedRoute, envelope: { from: string; to: string }, raw: Uint8Array): Promise<SendOutcome> {
    let t: Transport;
    try {
      t = await this.transport(route);
    } catch (e) {
      if (e instanceof CaFileError) {
        // The path is the operator's (config or domain options): it goes to the log, not to the
        // reply a domain token reads in /outbox.
        log("warn", "smtp.ca_file_unusable", { route: routeLabel(route), source: route.source, caFile: route.caFile, problem: e.message });
        return { kind: "permanent", reply: oneLine(`route setup failed: the route's CA file (caFile) ${e.message}; fix the ${route.source === "domain" ? "domain's options.smtp.caFile" : "smtp.smarthost.caFile setting"} and release again`) };
      }
      return { kind: "temporary", reply: oneLine(`route setup failed: ${(e as Error).message}`) };
    }
    try {
      const info = await t.sendMail({
        envelope: { from: envelope.from || "", to: [envelope.to] },
        raw: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength),
      });
      const rejected = (info.rejected ?? []) as unknown[];
      if (rejected.length > 0) {
        const rr = (info as { rejectedErrors?: SmtpError[] }).rejectedErrors?.[0];
        return rr ? classify(rr) : { kind: "temporary", reply: oneLine(String(info.response ?? "recipient rejected")) };
      }
      return { kind: "delivered", reply: oneLine(String(info.response ?? "250")) };
    } catch (e) {
      return classify(e);
    }
  }

  close(): void {
    for (const t of this.transports.values()) t.then((x) => x.close(), () => {});
    this.transports.clear();
  }
}
