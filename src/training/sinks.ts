/**
 * Where training reports go: rspamd's controller, SpamAssassin's spamd (the TELL command that
 * `spamc -L spam|ham` sends), a signed HTTP webhook, or nowhere. Each sink takes one report
 * and answers done (with a note) or a failure that the worker retries with backoff.
 */
import { createHmac } from "node:crypto";
import { connect } from "node:net";
import type { Config } from "../config/index.ts";
import { oneLine } from "../delivery/loop.ts";

export interface ReportPayload {
  id: number;
  kind: "spam" | "ham";
  source: string;
  actor: string;
  accountId: number | null;
  clientAddr: string | null;
  tenant: string;
  messageId: number | null;
  recipient: string | null;
  sender: string | null;
  sha256: string;
  createdAt: number;
  raw: Uint8Array;
}

export type SinkResult = { ok: true; note: string } | { ok: false; error: string };

export interface Sink {
  name: string;
  send(r: ReportPayload): Promise<SinkResult>;
}

export const SIGNATURE_HEADER = "X-Quarantined-Signature";

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what the webhook receiver recomputes. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

async function fetchWithTimeout(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: ac.signal });
  } finally {
    clearTimeout(t);
  }
}

function describeFetchError(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  return oneLine(`${err.message ?? String(e)}${err.cause?.code ? ` (${err.cause.code})` : ""}`);
}

export class NoneSink implements Sink {
  name = "none";
  async send(): Promise<SinkResult> {
    return { ok: true, note: "no training sink configured" };
  }
}

/** rspamd controller: POST /learnspam or /learnham, then optionally /fuzzyadd. */
export class RspamdSink implements Sink {
  name = "rspamd";
  constructor(private readonly cfg: NonNullable<Config["training"]["rspamd"]>, private readonly timeoutMs: number) {}

  private async post(path: string, raw: Uint8Array, extra: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const headers: Record<string, string> = { "Content-Type": "message/rfc822", ...extra };
    if (this.cfg.password) headers.Password = this.cfg.password;
    const res = await fetchWithTimeout(this.cfg.url.replace(/\/+$/, "") + path, { method: "POST", headers, body: raw as BodyInit }, this.timeoutMs);
    return { status: res.status, text: await res.text() };
  }

  async send(r: ReportPayload): Promise<SinkResult> {
    const path = r.kind === "spam" ? "/learnspam" : "/learnham";
    let res: { status: number; text: string };
    try {
      res = await this.post(path, r.raw, this.cfg.classifier ? { Classifier: this.cfg.classifier } : {});
    } catch (e) {
      return { ok: false, error: `rspamd ${path}: ${describeFetchError(e)}` };
    }
    let note: string;
    // 208: rspamd already learned this message the same way; that is the desired end state.
    if (res.status === 200 || res.status === 208) note = `rspamd ${path} ${res.status} ${oneLine(res.text, 200)}`;
    else return { ok: false, error: `rspamd ${path} ${res.status} ${oneLine(res.text, 300)}` };
    if (this.cfg.fuzzy && r.kind === "spam") {
      try {
        const f = await this.post("/fuzzyadd", r.raw, { Flag: String(this.cfg.fuzzyFlag), Weight: String(this.cfg.fuzzyWeight) });
        note += `; fuzzyadd ${f.status}`;
        if (f.status !== 200) return { ok: false, error: `rspamd /fuzzyadd ${f.status} ${oneLine(f.text, 300)} (learned already)` };
      } catch (e) {
        return { ok: false, error: `rspamd /fuzzyadd: ${describeFetchError(e)} (learned already)` };
      }
    }
    return { ok: true, note };
  }
}

/** spamd: the TELL command of the SPAMC/1.5 protocol, as `spamc -L spam|ham` sends it. */
export class SpamdSink implements Sink {
  name = "spamd";
  constructor(private readonly cfg: NonNullable<Config["training"]["spamd"]>, private readonly timeoutMs: number) {}

  send(r: ReportPayload): Promise<SinkResult> {
    return new Promise((resolve) => {
      const head =
        `TELL SPAMC/1.5\r\n` +
        `Message-class: ${r.kind}\r\n` +
        `Set: local\r\n` +
        (this.cfg.user ? `User: ${this.cfg.user}\r\n` : "") +
        `Content-length: ${r.raw.length}\r\n\r\n`;
      const sock = connect({ host: this.cfg.host, port: this.cfg.port });
      let reply = "";
      let settled = false;
      const done = (res: SinkResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(res);
      };
      const timer = setTimeout(() => done({ ok: false, error: `spamd ${this.cfg.host}:${this.cfg.port}: timed out` }), this.timeoutMs);
      sock.on("connect", () => {
        sock.write(head);
        sock.write(r.raw);
        sock.end(); // spamc half-closes after the body
      });
      sock.on("data", (d) => {
        reply += d.toString("latin1");
      });
      sock.on("error", (e) => done({ ok: false, error: `spamd ${this.cfg.host}:${this.cfg.port}: ${oneLine(e.message)}` }));
      sock.on("close", () => {
        const status = /^SPAMD\/[\d.]+\s+(\d+)\s+(.*)$/m.exec(reply);
        if (!status) return done({ ok: false, error: `spamd: no valid reply (${oneLine(reply, 200) || "connection closed"})` });
        if (status[1] !== "0") return done({ ok: false, error: `spamd: ${oneLine(status[0])}` });
        const set = /^DidSet:\s*(.*)$/im.exec(reply)?.[1]?.trim();
        done({ ok: true, note: `spamd ${oneLine(status[0])}${set ? `; DidSet: ${set}` : "; already known"}` });
      });
    });
  }
}

/** HTTP webhook: JSON metadata plus the raw message (base64), signed with HMAC-SHA256. */
export class WebhookSink implements Sink {
  name = "webhook";
  constructor(private readonly cfg: NonNullable<Config["training"]["webhook"]>, private readonly timeoutMs: number) {}

  static body(r: ReportPayload): string {
    return JSON.stringify({
      event: "training-report",
      id: r.id,
      kind: r.kind,
      source: r.source,
      actor: r.actor,
      accountId: r.accountId,
      clientAddr: r.clientAddr,
      tenant: r.tenant,
      messageId: r.messageId,
      recipient: r.recipient,
      sender: r.sender,
      sha256: r.sha256,
      size: r.raw.length,
      createdAt: new Date(r.createdAt).toISOString(),
      message: Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength).toString("base64"),
    });
  }

  async send(r: ReportPayload): Promise<SinkResult> {
    const body = WebhookSink.body(r);
    try {
      const res = await fetchWithTimeout(
        this.cfg.url,
        {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            [SIGNATURE_HEADER]: signBody(this.cfg.secret, body),
            "X-Quarantined-Event": "training-report",
            "X-Quarantined-Delivery": String(r.id),
          },
          body,
        },
        this.timeoutMs,
      );
      const text = await res.text().catch(() => "");
      if (res.status >= 200 && res.status < 300) return { ok: true, note: `webhook ${res.status}` };
      return { ok: false, error: `webhook ${res.status} ${oneLine(text, 300)}` };
    } catch (e) {
      return { ok: false, error: `webhook: ${describeFetchError(e)}` };
    }
  }
}

export function sinkFromConfig(config: Config): Sink {
  const t = config.training;
  const timeout = t.timeoutSeconds * 1000;
  switch (t.sink) {
    case "rspamd":
      if (!t.rspamd) throw new Error('training.sink is "rspamd" but training.rspamd.url is not set');
      return new RspamdSink(t.rspamd, timeout);
    case "spamd":
      return new SpamdSink(t.spamd ?? { host: "127.0.0.1", port: 783 }, timeout);
    case "webhook":
      if (!t.webhook) throw new Error('training.sink is "webhook" but training.webhook.url/secret are not set');
      return new WebhookSink(t.webhook, timeout);
    default:
      return new NoneSink();
  }
}
