/**
 * One LMTP connection (RFC 2033 over the SMTP grammar of RFC 5321): LHLO, MAIL, RCPT, DATA with
 * one reply per accepted recipient, RSET, NOOP, VRFY, QUIT; PIPELINING, SIZE, 8BITMIME,
 * SMTPUTF8 and ENHANCEDSTATUSCODES. It works on the socket's Buffers directly: a delivery's
 * bytes are found, dot-unstuffed and handed over without stream layers (a generic SMTP server
 * library cost three times the CPU and half a millisecond of latency per message).
 *
 * Commands are taken one at a time (RCPT and DATA wait for the database); pipelined ones stay
 * buffered meanwhile, up to a limit. What a delivery does is the handlers' business.
 */
import type { Socket } from "node:net";

export interface LmtpHandlers {
  hostname: string;
  maxMessageBytes: number;
  maxRecipients: number;
  /** RCPT: undefined accepts the address, else the whole reply line ("550 5.1.1 ...") */
  checkRecipient(address: string): Promise<string | undefined>;
  /** DATA received: the reply lines, one per accepted recipient, in RCPT order */
  deliver(message: { raw: Buffer; from: string; recipients: string[]; remoteAddress: string | null }): Promise<string[]>;
  /** a delivery's DATA began (true) or its replies were sent / it was abandoned (false) */
  underWay(on: boolean): void;
}

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");
const MAX_LINE = 4096;
/** pipelined bytes held while a command waits for the database */
const MAX_PENDING = 1 << 20;
const MAX_ERRORS = 10;
const IDLE_TIMEOUT_MS = 5 * 60_000;

type State = "command" | "data" | "busy" | "closed";

/** RFC 5321 addresses are printable: NUL and other controls (which SQLite would cut a text at) are refused. */
const CONTROL = /[\u0000-\u001f\u007f]/;

export class LmtpConnection {
  private input: Buffer = Buffer.alloc(0);
  private state: State = "command";
  private lhlo = false;
  private from: string | undefined;
  private recipients: string[] = [];
  private errors = 0;
  private skippingLongLine = false;
  // DATA
  private chunks: Buffer[] = [];
  private size = 0;
  private tooBig = false;
  private tail: Buffer = CRLF;

  constructor(
    private readonly socket: Socket,
    private readonly h: LmtpHandlers,
  ) {
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => this.close("421 4.4.2 Idle for too long, closing"));
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", () => this.abandon());
    socket.on("close", () => this.abandon());
    this.send([`220 ${h.hostname} LMTP quarantined ready`]);
  }

  /** Whether a delivery is between DATA and its replies (shutdown waits for those). */
  get busy(): boolean {
    return this.state === "data" || this.state === "busy";
  }

  /** Ends the connection with a reply (e.g. 421 at shutdown). */
  close(reply?: string): void {
    if (this.state === "closed") return;
    if (reply) this.socket.end(reply + "\r\n");
    else this.socket.end();
    this.abandon();
  }

  private abandon(): void {
    if (this.state === "data" || this.state === "busy") this.h.underWay(false);
    this.state = "closed";
    this.chunks = [];
  }

  private send(lines: string[]): void {
    if (this.state !== "closed" && lines.length) this.socket.write(lines.join("\r\n") + "\r\n");
  }

  private onData(d: Buffer): void {
    if (this.state === "closed") return;
    if (this.state === "data") return this.onMessageBytes(d);
    this.input = this.input.length ? Buffer.concat([this.input, d]) : d;
    if (this.state === "busy" && this.input.length > MAX_PENDING) return this.close("421 4.7.0 Too much pipelined input, closing");
    this.run();
  }

  /** Takes buffered commands until one has to wait or the buffer runs dry. */
  private run(): void {
    while (this.state === "command") {
      const i = this.input.indexOf(CRLF);
      if (i < 0) {
        if (this.input.length > MAX_LINE) {
          this.input = Buffer.alloc(0);
          if (!this.skippingLongLine) this.reply("500 5.5.2 Line too long", true);
          this.skippingLongLine = true;
        }
        return;
      }
      const line = this.input.toString("utf8", 0, i);
      this.input = this.input.subarray(i + 2);
      if (this.skippingLongLine) {
        this.skippingLongLine = false;
        continue;
      }
      if (i > MAX_LINE) {
        this.reply("500 5.5.2 Line too long", true);
        continue;
      }
      this.command(line);
    }
  }

  private reply(line: string, isError = false): void {
    this.send([line]);
    if (isError && ++this.errors >= MAX_ERRORS) this.close("421 4.7.0 Too many errors, closing");
  }

  private resetTransaction(): void {
    this.from = undefined;
    this.recipients = [];
  }

  private command(line: string): void {
    const sp = line.indexOf(" ");
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? "" : line.slice(sp + 1).trim();
    switch (verb) {
      case "LHLO":
        if (!arg) return this.reply("501 5.5.4 LHLO needs a host name", true);
        this.lhlo = true;
        this.resetTransaction();
        return this.send([
          `250-${this.h.hostname}`,
          "250-PIPELINING",
          "250-8BITMIME",
          "250-SMTPUTF8",
          "250-ENHANCEDSTATUSCODES",
          `250 SIZE ${this.h.maxMessageBytes}`,
        ]);
      case "HELO":
      case "EHLO":
        return this.reply("500 5.5.1 This is LMTP: say LHLO", true);
      case "MAIL":
        return this.mail(arg);
      case "RCPT":
        return this.rcpt(arg);
      case "DATA":
        if (this.from === undefined) return this.reply("503 5.5.1 MAIL first", true);
        if (this.recipients.length === 0) return this.reply("503 5.5.1 No valid recipients", true);
        if (arg) return this.reply("501 5.5.4 DATA takes no arguments", true);
        this.state = "data";
        this.chunks = [];
        this.size = 0;
        this.tooBig = false;
        this.tail = CRLF; // the CRLF before a terminating dot may be the one that ended DATA
        this.h.underWay(true);
        this.send(["354 End data with <CR><LF>.<CR><LF>"]);
        if (this.input.length) {
          const rest = this.input;
          this.input = Buffer.alloc(0);
          this.onMessageBytes(rest);
        }
        return;
      case "RSET":
        this.resetTransaction();
        return this.reply("250 2.0.0 Ok");
      case "NOOP":
        return this.reply("250 2.0.0 Ok");
      case "VRFY":
        return this.reply("252 2.5.2 Cannot verify, but will accept the message and try");
      case "QUIT":
        return this.close("221 2.0.0 Bye");
      default:
        return this.reply("500 5.5.2 Command not recognized", true);
    }
  }

  private mail(arg: string): void {
    if (!this.lhlo) return this.reply("503 5.5.1 LHLO first", true);
    if (this.from !== undefined) return this.reply("503 5.5.1 Nested MAIL command", true);
    const m = /^FROM:\s*<([^<>]*)>(.*)$/i.exec(arg);
    if (!m) return this.reply("501 5.5.4 Syntax: MAIL FROM:<address>", true);
    for (const param of m[2].trim().split(/\s+/).filter(Boolean)) {
      const [key, value = ""] = param.split("=", 2);
      switch (key.toUpperCase()) {
        case "SIZE":
          if (!/^\d+$/.test(value)) return this.reply("501 5.5.4 Bad SIZE parameter", true);
          if (Number(value) > this.h.maxMessageBytes) return this.reply(`552 5.3.4 Message exceeds the maximum size of ${this.h.maxMessageBytes} bytes`, true);
          break;
        case "BODY":
          if (!/^(7BIT|8BITMIME)$/i.test(value)) return this.reply("501 5.5.4 Bad BODY parameter", true);
          break;
        case "SMTPUTF8":
          break;
        default:
          return this.reply(`555 5.5.4 Unsupported parameter ${key}`, true);
      }
    }
    if (CONTROL.test(m[1])) return this.reply("553 5.1.7 Bad sender address syntax: control characters are not allowed", true);
    this.from = m[1];
    this.recipients = [];
    this.reply("250 2.1.0 Ok");
  }

  private rcpt(arg: string): void {
    if (this.from === undefined) return this.reply("503 5.5.1 MAIL first", true);
    const m = /^TO:\s*<([^<>]*)>(.*)$/i.exec(arg);
    if (!m) return this.reply("501 5.5.4 Syntax: RCPT TO:<address>", true);
    if (m[2].trim()) return this.reply(`555 5.5.4 Unsupported parameter ${m[2].trim().split(/\s+/)[0]}`, true);
    if (CONTROL.test(m[1])) return this.reply("553 5.1.3 Bad recipient address syntax: control characters are not allowed", true);
    if (this.recipients.length >= this.h.maxRecipients) return this.reply("452 4.5.3 Too many recipients");
    const address = m[1];
    this.state = "busy";
    this.h.checkRecipient(address).then(
      (refusal) => this.resume(() => {
        if (refusal) return this.reply(refusal);
        this.recipients.push(address);
        this.reply("250 2.1.5 Ok");
      }),
      () => this.resume(() => this.reply("451 4.3.0 Temporary lookup failure")),
    );
  }

  /** After an asynchronous step: answer, then go on with pipelined input. */
  private resume(answer: () => void): void {
    if (this.state === "closed") return;
    this.state = "command";
    answer();
    this.run();
  }

  private onMessageBytes(d: Buffer): void {
    // Look for CRLF.CRLF across the chunk boundary: the last 4 bytes seen, then this chunk.
    const window = Buffer.concat([this.tail, d.subarray(0, Math.min(d.length, END_OF_DATA.length - 1))]);
    let at = window.indexOf(END_OF_DATA);
    let endInChunk: number; // index in d just after the terminator
    let bodyEndInChunk: number; // index in d where the message (its last CRLF included) ends
    if (at >= 0) {
      endInChunk = at + END_OF_DATA.length - this.tail.length;
      bodyEndInChunk = at + 2 - this.tail.length;
    } else {
      at = d.indexOf(END_OF_DATA);
      if (at < 0) {
        this.take(d);
        const joined = Buffer.concat([this.tail, d.subarray(Math.max(0, d.length - 4))]);
        this.tail = joined.subarray(joined.length - Math.min(4, joined.length));
        return;
      }
      endInChunk = at + END_OF_DATA.length;
      bodyEndInChunk = at + 2;
    }
    if (bodyEndInChunk > 0) this.take(d.subarray(0, bodyEndInChunk));
    else if (bodyEndInChunk < 0) this.untake(-bodyEndInChunk);
    this.input = Buffer.from(d.subarray(endInChunk)); // pipelined commands after the message
    this.finishData();
  }

  private take(part: Buffer): void {
    this.size += part.length;
    if (this.size > this.h.maxMessageBytes) {
      this.tooBig = true;
      this.chunks = [];
    }
    if (!this.tooBig && part.length) this.chunks.push(Buffer.from(part));
  }

  /** The terminator began in bytes already taken (its CRLF belongs to the message, its dot not). */
  private untake(n: number): void {
    this.size -= n;
    let left = n;
    while (left > 0 && this.chunks.length) {
      const last = this.chunks[this.chunks.length - 1];
      if (last.length <= left) {
        left -= last.length;
        this.chunks.pop();
      } else {
        this.chunks[this.chunks.length - 1] = last.subarray(0, last.length - left);
        left = 0;
      }
    }
  }

  private finishData(): void {
    this.state = "busy";
    const recipients = this.recipients;
    const from = this.from ?? "";
    this.resetTransaction();
    const done = (lines: string[]) => {
      if (this.state === "closed") return;
      this.h.underWay(false);
      this.resume(() => this.send(lines));
    };
    if (this.tooBig) {
      this.chunks = [];
      return done(recipients.map(() => `552 5.3.4 Message exceeds the maximum size of ${this.h.maxMessageBytes} bytes`));
    }
    const raw = unstuff(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size));
    this.chunks = [];
    // The same rule as the API and the CLI: an empty message is not stored.
    if (raw.length === 0) return done(recipients.map(() => "554 5.6.0 Message is empty; nothing stored"));
    this.h.deliver({ raw, from, recipients, remoteAddress: this.socket.remoteAddress ?? null }).then(done, () =>
      done(recipients.map(() => "451 4.3.0 Temporary failure storing the message, try again")),
    );
  }
}

/** Removes the dot added before lines that begin with one (RFC 5321 §4.5.2). */
export function unstuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  if (data[0] === 0x2e) from = 1; // the first line
  let i = data.indexOf("\r\n.", from);
  if (from === 0 && i < 0) return data;
  while (i >= 0) {
    parts.push(data.subarray(from, i + 2));
    from = i + 3;
    i = data.indexOf("\r\n.", from);
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}
