/**
 * One IMAP connection: reads commands through the protocol layer's CommandReader, runs them
 * one at a time through the command table, and writes responses. State is a small union:
 * not authenticated → authenticated → selected, and logout.
 *
 * Input handling: commands that hand the following bytes to another layer (IDLE, AUTHENTICATE,
 * STARTTLS; COMPRESS if it is ever offered) make the reader pause; the session then holds new
 * input until the command has set the reader's mode, so "DONE\r\nA2 NOOP\r\n" in one packet
 * works and bytes pipelined after STARTTLS are dropped, never executed inside TLS. A pausing
 * command that ends without taking the input over (a BAD for the state or the arguments)
 * releases the hold when it completes.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { log } from "../../observability/log.ts";
import { imapMetrics } from "../../observability/metrics.ts";
import type { Scope } from "../../quarantine/scope.ts";
import { CommandReader, ProtocolError, type ReaderEvent } from "../protocol/index.ts";
import { clientText } from "../protocol/errors.ts";
import { COMMANDS, type CommandEvent } from "../commands/registry.ts";
import { SelectedMailbox } from "./selected.ts";
import type { SessionDeps } from "./types.ts";
import { ResponseWriter } from "./writer.ts";
import { syncMailbox } from "./sync.ts";

export type SessionState = "notauth" | "auth" | "selected" | "logout";

/** The commands after which the reader pauses (protocol/reader.ts DEFAULT_PAUSE). */
const PAUSING = new Set(["IDLE", "AUTHENTICATE", "STARTTLS", "COMPRESS"]);
const PRE_AUTH_LITERAL = 8192;

export class ImapSession {
  state: SessionState = "notauth";
  scope?: Scope;
  selected?: SelectedMailbox;
  readonly enabled = new Set<string>();
  /** folders this login unsubscribed from */
  unsubscribed?: Set<string>;
  readonly out: ResponseWriter;
  readonly reader: CommandReader;
  readonly remoteAddress: string;
  readonly startedAt = Date.now();
  secure: boolean;
  tlsVersion?: string;
  /** set by IDLE / AUTHENTICATE: the next raw line goes here (tooLong: it was over the line limit, text is "") */
  lineHandler?: (text: string, tooLong?: boolean) => Promise<void>;
  /** set while IDLE runs: called by the notifier */
  idleWake?: () => void;

  private loginDeadline?: ReturnType<typeof setTimeout>;
  private queue: ReaderEvent[] = [];
  private stash: Uint8Array[] = [];
  private stashBytes = 0;
  private hold = false;
  /** the event (pausing command or line) that set the hold */
  private holdFor?: ReaderEvent;
  private busy = false;
  private closed = false;
  private cmdTimes: number[] = [];

  constructor(
    public sock: Socket,
    readonly deps: SessionDeps,
    readonly listener: string,
    secure: boolean,
  ) {
    this.secure = secure;
    this.remoteAddress = (sock.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
    this.out = new ResponseWriter(sock);
    const l = deps.config.limits;
    // Before login only small literals (a password) are accepted: nobody unauthenticated
    // gets to make us buffer a 50 MB APPEND. login.ts raises the limits.
    this.reader = new CommandReader(
      { maxLineBytes: Math.min(l.maxLineBytes, 8192), maxLiteralBytes: PRE_AUTH_LITERAL, maxCommandBytes: PRE_AUTH_LITERAL + 8192, maxDepth: 8 },
      { literalPlus: true, budget: deps.literals },
    );
    if (secure) this.tlsVersion = (sock as TLSSocket).getProtocol?.() ?? undefined;
    this.attach(sock);
    // The pre-auth timeout measures inactivity, so a client that never logs in could stay
    // for ever by sending a byte or a NOOP now and then (slowloris). Getting logged in has a
    // deadline from connect too.
    this.loginDeadline = setTimeout(this.onLoginDeadline, l.preAuthDeadlineSeconds * 1000);
    this.loginDeadline.unref?.();
  }

  /** Binds socket events; called again after STARTTLS with the TLS socket. */
  attach(sock: Socket): void {
    this.sock = sock;
    this.out.setSocket(sock);
    sock.on("data", this.onData);
    sock.on("error", this.onGone);
    sock.on("close", this.onGone);
    sock.on("timeout", this.onTimeout);
    this.resetTimeout();
  }

  /**
   * STARTTLS: stop reading plaintext, before the OK is written (STACK-NOTES §4: Deno needs the
   * pause). Only our own data and timeout listeners go: the error and close listeners stay on
   * the plain socket for its whole life, so a reset during or after the switch ends this
   * session (never the process), and the server's listener that frees the connection's slot
   * keeps working.
   */
  detach(): void {
    this.sock.off("data", this.onData);
    this.sock.off("timeout", this.onTimeout);
    this.sock.setTimeout(0);
    this.sock.pause();
  }

  private onGone = (): void => this.close();

  async greet(): Promise<void> {
    this.out.line(`* OK [CAPABILITY ${this.capabilities().join(" ")}] quarantined ready`);
    await this.out.flush();
  }

  capabilities(): string[] {
    const caps = ["IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE"];
    if (this.state === "notauth") {
      if (!this.secure) caps.push("STARTTLS", "LOGINDISABLED");
      else caps.push("AUTH=PLAIN");
      return caps;
    }
    caps.push(
      "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
      "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "BINARY", "STATUS=SIZE",
      `APPENDLIMIT=${this.deps.config.limits.maxMessageBytes}`,
    );
    return caps;
  }

  /**
   * After login: the configured limits. Only APPEND takes APPENDLIMIT-sized literals; any other
   * command (a SEARCH string, a mailbox name) has literals up to a line's size and is at most
   * four lines' worth in all.
   */
  raiseLimits(): void {
    const l = this.deps.config.limits;
    this.reader.setLimits({
      maxLineBytes: l.maxLineBytes,
      maxLiteralBytes: l.maxLineBytes,
      maxCommandBytes: 4 * l.maxLineBytes,
      maxAppendLiteralBytes: l.maxMessageBytes,
      maxAppendCommandBytes: l.maxMessageBytes + l.maxLineBytes,
      maxDepth: 32,
    });
  }

  resetTimeout(): void {
    const l = this.deps.config.limits;
    const seconds = this.state === "notauth" ? l.preAuthTimeoutSeconds : this.idleWake ? l.idleTimeoutSeconds : l.authTimeoutSeconds;
    this.sock.setTimeout(seconds * 1000);
  }

  private onTimeout = (): void => {
    if (this.closed) return;
    this.out.line("* BYE Autologout; idle for too long");
    void this.out.flush().finally(() => this.end());
  };

  private onLoginDeadline = (): void => {
    if (this.closed || this.state !== "notauth") return;
    imapMetrics.errors.inc({ kind: "login_deadline" });
    this.out.line("* BYE Autologout; not logged in in time");
    void this.out.flush().finally(() => this.end());
  };

  private onData = (chunk: Uint8Array): void => {
    imapMetrics.bytesIn.inc({}, chunk.length);
    this.feed(chunk);
  };

  /** Feeds input to the reader, or holds it while a mode switch is pending. */
  private feed(chunk: Uint8Array | null): void {
    if (this.closed) return;
    if (this.hold) {
      if (chunk) {
        this.stash.push(chunk);
        this.stashBytes += chunk.length;
      }
      if (this.stashBytes > 1024 * 1024) this.fatal("Too much pipelined data");
      return;
    }
    const events = chunk ? this.reader.push(chunk) : this.reader.drain();
    for (const ev of events) {
      this.queue.push(ev);
      if ((ev.kind === "command" && PAUSING.has(ev.name)) || ev.kind === "line") {
        this.hold = true;
        this.holdFor = ev;
      }
    }
    // Backpressure: stop reading while a long pipeline is pending.
    if (this.queue.length > 64) this.sock.pause();
    void this.pump();
  }

  /** Lets held input through again (after IDLE/AUTHENTICATE switched the reader's mode). */
  releaseInput(): void {
    this.hold = false;
    this.holdFor = undefined;
    const stashed = this.stash;
    this.stash = [];
    this.stashBytes = 0;
    this.feed(null);
    for (const c of stashed) this.feed(c);
  }

  /** STARTTLS: whatever the client sent after the command is dropped. */
  discardInput(): void {
    this.stash = [];
    this.stashBytes = 0;
    this.queue = [];
    this.reader.discardBuffered();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.closed) {
        const ev = this.queue.shift()!;
        await this.handle(ev);
        if (this.queue.length < 16 && this.sock.isPaused?.()) this.sock.resume();
      }
    } catch (e) {
      log("error", "imap.session.crash", { error: String((e as Error).stack ?? e), client: this.remoteAddress });
      this.fatal("Internal error");
    } finally {
      this.busy = false;
    }
  }

  private async handle(ev: ReaderEvent): Promise<void> {
    this.resetTimeout();
    switch (ev.kind) {
      case "continue":
        this.out.line("+ Ready for literal data");
        await this.out.flush();
        return;
      case "error": {
        imapMetrics.errors.inc({ kind: ev.code ?? "syntax" });
        const code = ev.code ? `[${ev.code}] ` : "";
        if (ev.fatal) return this.fatal(ev.message);
        this.out.line(`${ev.tag ?? "*"} ${ev.status ?? "BAD"} ${code}${ev.message}`);
        await this.out.flush();
        return;
      }
      case "line": {
        const h = this.lineHandler;
        this.lineHandler = undefined;
        if (h) await h(ev.text, ev.tooLong);
        else this.releaseInput();
        await this.out.flush();
        return;
      }
      case "command":
        try {
          await this.runCommand(ev);
        } finally {
          if (ev.held) this.deps.literals.release(ev.held);
        }
        // A pausing command that did not take over the input (refused for the state, bad
        // arguments, COMPRESS which we do not offer) still holds it: the command is complete,
        // so read on, or nothing the client sends would be answered again.
        if (this.holdFor === ev) this.releaseInput();
        await this.out.flush();
        return;
    }
  }

  /**
   * Paces a connection to commandsPerSecond: past the limit its next command waits until the
   * one-second window allows it. Slowing a client down, rather than answering NO, keeps
   * pipelining clients (mbsync, imapflow) working while one connection cannot hog the server.
   */
  private async pace(): Promise<void> {
    const limit = this.deps.config.limits.commandsPerSecond;
    let now = Date.now();
    while (this.cmdTimes.length && now - this.cmdTimes[0] >= 1000) this.cmdTimes.shift();
    if (this.cmdTimes.length >= limit) {
      imapMetrics.errors.inc({ kind: "paced" });
      await new Promise((r) => setTimeout(r, 1000 - (now - this.cmdTimes[0])));
      now = Date.now();
      while (this.cmdTimes.length && now - this.cmdTimes[0] >= 1000) this.cmdTimes.shift();
    }
    this.cmdTimes.push(now);
  }

  private async runCommand(ev: CommandEvent): Promise<void> {
    const spec = COMMANDS.get(ev.name);
    const label = spec ? `${ev.uid ? "UID " : ""}${ev.name}` : "UNKNOWN";
    const started = performance.now();
    let outcome = "ok";
    try {
      if (!spec || (ev.uid && !spec.uid)) {
        outcome = "bad";
        this.out.line(`${ev.tag} BAD Unknown command ${ev.uid ? "UID " : ""}${clientText(ev.name)}`);
        return;
      }
      if (!spec.states.includes(this.state)) {
        outcome = "bad";
        const why = this.state === "notauth" ? "Log in first" : this.state === "auth" && spec.states.includes("selected") ? "Select a mailbox first" : "Not allowed now";
        this.out.line(`${ev.tag} BAD ${why}`);
        return;
      }
      await this.pace();
      const result = await spec.run(this, ev);
      if (result) {
        outcome = result.status.toLowerCase();
        // Untagged updates for the selected folder go just before the tagged reply.
        if (this.selected && result.status !== "BAD" && !result.noSync) {
          await syncMailbox(this, { expunge: spec.allowsExpunge || !!ev.uid });
        }
        this.out.line(`${ev.tag} ${result.status} ${result.code ? `[${result.code}] ` : ""}${result.text}`);
      }
    } catch (e) {
      if (e instanceof ProtocolError) {
        // An unsupported CHARSET is a NO (RFC 3501 §6.4.4); other parse errors are BAD.
        const status = e.code === "BADCHARSET" ? "NO" : "BAD";
        outcome = status.toLowerCase();
        const code = e.code === "BADCHARSET" ? "BADCHARSET (US-ASCII UTF-8)" : e.code;
        this.out.line(`${ev.tag} ${status} ${code ? `[${code}] ` : ""}${e.message}`);
      } else {
        outcome = "no";
        log("error", "imap.command.failed", { command: label, error: String((e as Error).stack ?? e), client: this.remoteAddress });
        this.out.line(`${ev.tag} NO [SERVERBUG] ${ev.name} failed; try again later`);
      }
    } finally {
      imapMetrics.commands.inc({ command: label, outcome });
      imapMetrics.latency.observe({ command: label }, (performance.now() - started) / 1000);
    }
  }

  /** Ends the connection after a BYE. */
  fatal(message: string): void {
    if (this.closed) return;
    this.out.line(`* BYE ${message}`);
    void this.out.flush().finally(() => this.end());
  }

  end(): void {
    if (this.closed) return;
    this.sock.end();
    setTimeout(() => this.sock.destroy(), 2000).unref?.();
    this.close();
  }

  private onCloseHandlers: (() => void)[] = [];
  onClose(fn: () => void): void {
    this.onCloseHandlers.push(fn);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.loginDeadline);
    this.out.closed = true;
    this.state = "logout";
    this.idleWake = undefined;
    // literal memory held by the command being read and by commands not run yet
    this.reader.close();
    for (const ev of this.queue.splice(0)) if (ev.kind === "command" && ev.held) this.deps.literals.release(ev.held);
    for (const fn of this.onCloseHandlers) fn();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
