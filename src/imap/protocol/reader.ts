/**
 * Incremental command reader: bytes in, complete commands out.
 *
 *   C: a1 APPEND Drafts {5}\r\n      → { kind: "continue" }   (session writes "+ Ready")
 *   C: hello\r\n                     → { kind: "command", tag: "a1", name: "APPEND", args: [...] }
 *
 * Lines are found with indexOf(LF) on Uint8Arrays; literal bytes are copied once into a buffer of
 * exactly the announced size. Nothing grows beyond the limits: an over-long line or literal is
 * reported and skipped, and the reader resynchronises at the next line.
 *
 * Pausing: push() stops right after IDLE, AUTHENTICATE, STARTTLS or COMPRESS (their following
 * bytes belong to another layer), and in line mode after each delivered line. The rest stays
 * buffered; call drain() once the session is ready for it (after lineMode(), after SASL-IR
 * AUTHENTICATE completes, ...). The session must call lineMode(true) synchronously on IDLE,
 * before the next push(), or "DONE" would be read as a command.
 */
import { ProtocolError } from "./errors.ts";
import { CR, LF, SP, decodeText, literalSuffix, parseCommand, peekTag, type Token } from "./tokens.ts";

/**
 * maxLiteralBytes and maxCommandBytes (literals included) hold for every command but APPEND,
 * whose message literal may be as large as maxAppendLiteralBytes / maxAppendCommandBytes (when
 * not set, APPEND gets the same limits as the rest): a SEARCH or LOGIN never needs a 50 MB literal.
 */
export interface ReaderLimits {
  maxLineBytes: number;
  maxLiteralBytes: number;
  maxCommandBytes: number;
  maxDepth: number;
  maxAppendLiteralBytes?: number;
  maxAppendCommandBytes?: number;
}

/**
 * held: bytes of the command's literals reserved from the literal budget, which the caller
 * gives back (budget.release) once it is done with the command. An error's status is BAD
 * unless it says NO (a refusal for want of memory, not a client mistake).
 */
export type ReaderEvent =
  | { kind: "command"; tag: string; name: string; args: Token[]; uid?: boolean; held?: number }
  | { kind: "continue" }
  | { kind: "line"; text: string; tooLong?: boolean }
  | { kind: "error"; tag: string | null; code?: string; message: string; fatal?: boolean; status?: "NO" };

/**
 * Memory for literals, shared by every connection: reserve() before a literal's buffer is
 * allocated (false: refuse the literal), release() the same amounts afterwards.
 */
export interface LiteralBudget {
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

export interface ReaderOptions {
  /** Accept non-synchronizing literals {n+} (RFC 7888). */
  literalPlus?: boolean;
  /** Command names after which push() returns, leaving later bytes buffered. */
  pauseAfter?: string[];
  /** Process-wide memory for literals; without it literals are limited per command only. */
  budget?: LiteralBudget;
}

const DEFAULT_PAUSE = ["IDLE", "AUTHENTICATE", "STARTTLS", "COMPRESS"];
const EMPTY = new Uint8Array(0);

type Mode = "line" | "literal" | "skipBytes" | "skipLine";

export class CommandReader {
  private limits: ReaderLimits;
  private readonly literalPlus: boolean;
  private readonly pauseAfter: Set<string>;
  private readonly budget?: LiteralBudget;

  // Unconsumed input: store[start, end).
  private store = EMPTY;
  private start = 0;
  private end = 0;
  /** Bytes of the pending partial line already searched for LF. */
  private scanned = 0;

  private mode: Mode = "line";
  private segs: Uint8Array[] = [];
  private cmdBytes = 0;
  /** literal bytes of the command being read reserved from the budget */
  private held = 0;
  /** the command being read is an APPEND (its limits are the APPEND ones) */
  private appending = false;
  private literal: Uint8Array = EMPTY;
  private literalPos = 0;
  private skipLeft = 0;
  /** The current command already failed: swallow its remaining lines and {n+} literals. */
  private discarding = false;
  /** Last bytes of a skipped over-long line, to spot a trailing {n+}. */
  private tail = new Uint8Array(0);
  private lineModeOn = false;
  /** the line being skipped was a raw line (line mode): no literal to look for at its end */
  private rawSkip = false;
  private paused = false;

  constructor(limits: ReaderLimits, opts: ReaderOptions = {}) {
    this.limits = limits;
    this.literalPlus = opts.literalPlus ?? false;
    this.pauseAfter = new Set(opts.pauseAfter ?? DEFAULT_PAUSE);
    this.budget = opts.budget;
  }

  /** Changes limits from the next command on (e.g. larger literals once logged in). */
  setLimits(limits: Partial<ReaderLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  get bufferedBytes(): number {
    return this.end - this.start;
  }

  lineMode(on: boolean): void {
    this.lineModeOn = on;
  }

  discardBuffered(): void {
    this.start = this.end = this.scanned = 0;
    this.rawSkip = false;
    this.resetCommand();
    this.mode = "line";
    this.discarding = false;
  }

  /** Process bytes left buffered by a pause: same as push(empty). */
  drain(): ReaderEvent[] {
    return this.push(EMPTY);
  }

  push(chunk: Uint8Array): ReaderEvent[] {
    const out: ReaderEvent[] = [];
    this.paused = false;
    let data: Uint8Array;
    let fromStore: boolean;
    if (this.end > this.start) {
      this.appendBytes(chunk);
      data = this.store.subarray(this.start, this.end);
      fromStore = true;
    } else {
      data = chunk;
      fromStore = false;
    }
    const used = this.run(data, out);
    if (fromStore) {
      this.start += used;
      if (this.start === this.end) this.start = this.end = 0;
    } else if (used < data.length) {
      this.appendBytes(data.subarray(used)); // keep our own copy: the caller may reuse its chunk
    }
    // Pausing keeps bytes in memory; a client that floods while we wait is cut off.
    const l = this.limits;
    if (this.bufferedBytes > l.maxLineBytes + Math.max(l.maxCommandBytes, l.maxAppendCommandBytes ?? 0)) {
      this.discardBuffered();
      out.push({ kind: "error", tag: null, message: "Too much pipelined data", fatal: true });
    }
    return out;
  }

  private appendBytes(chunk: Uint8Array): void {
    const have = this.end - this.start;
    if (this.end + chunk.length > this.store.length) {
      if (have + chunk.length <= this.store.length) {
        this.store.copyWithin(0, this.start, this.end);
      } else {
        const grown = new Uint8Array(Math.max(4096, (have + chunk.length) * 2));
        grown.set(this.store.subarray(this.start, this.end));
        this.store = grown;
      }
      this.start = 0;
      this.end = have;
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Consume as much of `data` as possible; returns the number of bytes used. */
  private run(data: Uint8Array, out: ReaderEvent[]): number {
    let pos = 0;
    while (!this.paused) {
      if (this.mode === "literal") {
        const n = Math.min(this.literal.length - this.literalPos, data.length - pos);
        this.literal.set(data.subarray(pos, pos + n), this.literalPos);
        this.literalPos += n;
        pos += n;
        if (this.literalPos < this.literal.length) return pos;
        this.segs.push(this.literal);
        this.literal = EMPTY;
        this.mode = "line";
      } else if (this.mode === "skipBytes") {
        const n = Math.min(this.skipLeft, data.length - pos);
        this.skipLeft -= n;
        pos += n;
        if (this.skipLeft > 0) return pos;
        this.mode = "line";
      } else if (this.mode === "skipLine") {
        const lf = data.indexOf(LF, pos);
        this.keepTail(data.subarray(pos, lf < 0 ? data.length : lf));
        if (lf < 0) return data.length;
        pos = lf + 1;
        this.mode = "line";
        this.afterDiscardedLine(this.tail[this.tail.length - 1] === CR ? this.tail.subarray(0, -1) : this.tail);
      } else {
        if (pos >= data.length) return pos;
        const lf = data.indexOf(LF, pos + this.scanned);
        if (lf < 0) {
          this.scanned = data.length - pos;
          if (this.scanned > this.limits.maxLineBytes) {
            this.lineTooLong(data.subarray(pos), out);
            this.scanned = 0;
            this.tail = new Uint8Array(0);
            this.keepTail(data.subarray(pos));
            this.mode = "skipLine";
            return data.length;
          }
          return pos;
        }
        this.scanned = 0;
        const lineEnd = lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
        const line = data.subarray(pos, lineEnd);
        pos = lf + 1;
        if (line.length > this.limits.maxLineBytes) {
          this.lineTooLong(line, out);
          this.afterDiscardedLine(line);
        } else {
          this.onLine(line, out);
        }
      }
    }
    return pos;
  }

  private onLine(line: Uint8Array, out: ReaderEvent[]): void {
    if (this.discarding) return this.afterDiscardedLine(line);
    if (this.lineModeOn && this.segs.length === 0) {
      out.push({ kind: "line", text: decodeText(line) });
      this.paused = true;
      return;
    }
    const lit = literalSuffix(line);
    const first = this.segs.length === 0;
    const tag = peekTag(first ? line : this.segs[0]);
    if (first && tag === null) {
      out.push({ kind: "error", tag: null, message: line.length ? "Invalid tag" : "Empty command" });
      return this.afterDiscardedLine(line);
    }
    if (first) this.appending = isAppend(line);
    const l = this.limits;
    const maxCommand = this.appending ? l.maxAppendCommandBytes ?? l.maxCommandBytes : l.maxCommandBytes;
    const maxLiteral = this.appending ? l.maxAppendLiteralBytes ?? l.maxLiteralBytes : l.maxLiteralBytes;
    this.cmdBytes += line.length + 2;
    if (this.cmdBytes > maxCommand) {
      return this.fail(out, tag, "Command too long", line, "TOOBIG");
    }
    if (lit === null) {
      this.segs.push(line.slice());
      const segs = this.segs;
      const held = this.held;
      this.held = 0; // goes with the command, or back to the budget if it does not parse
      this.resetCommand();
      try {
        const cmd = parseCommand(segs, this.limits.maxDepth);
        out.push(held ? { kind: "command", ...cmd, held } : { kind: "command", ...cmd });
        if (this.pauseAfter.has(cmd.name)) this.paused = true;
      } catch (e) {
        if (held) this.budget?.release(held);
        if (!(e instanceof ProtocolError)) throw e;
        out.push(errorEvent(tag, e.message, e.code));
      }
      return;
    }
    if (lit.plus && !this.literalPlus) return this.fail(out, tag, "Non-synchronizing literals are not supported", line);
    if (lit.n > maxLiteral || this.cmdBytes + lit.n > maxCommand) {
      // No "+ Ready" for a sync literal, so the client sends no bytes; {n+} bytes come anyway and are skipped.
      return this.fail(out, tag, "Literal too large", line, "TOOBIG");
    }
    if (this.budget) {
      if (!this.budget.reserve(lit.n)) {
        // The server's literal memory is taken by other uploads: not the client's fault, so NO.
        // Same path as too large: no "+ Ready", {n+} bytes skipped.
        out.push({ kind: "error", tag, code: "LIMIT", message: "Too many messages are being uploaded right now; try again later", status: "NO" });
        this.resetCommand();
        return this.afterDiscardedLine(line);
      }
      this.held += lit.n;
    }
    this.segs.push(line.slice());
    this.cmdBytes += lit.n;
    this.literal = new Uint8Array(lit.n);
    this.literalPos = 0;
    this.mode = "literal";
    if (!lit.plus) out.push({ kind: "continue" });
  }

  private fail(out: ReaderEvent[], tag: string | null, message: string, line: Uint8Array, code?: string): void {
    out.push(errorEvent(tag, message, code));
    this.resetCommand();
    this.afterDiscardedLine(line);
  }

  private lineTooLong(partial: Uint8Array, out: ReaderEvent[]): void {
    if (this.lineModeOn && this.segs.length === 0 && !this.discarding) {
      // A raw line (a SASL response, IDLE's DONE) too long: its owner gets it as such and ends
      // its exchange; the rest of the line is skipped, the next line is a command again.
      out.push({ kind: "line", text: "", tooLong: true });
      this.paused = true;
      this.rawSkip = true;
      return;
    }
    if (!this.discarding) {
      const tag = peekTag(this.segs.length ? this.segs[0] : partial, true);
      out.push(errorEvent(tag, "Line too long", "TOOBIG"));
    }
    this.resetCommand();
    this.discarding = true;
  }

  /** A line of a failed command ended: skip its {n+} literal and keep discarding, else the command is over. */
  private afterDiscardedLine(line: Uint8Array): void {
    const lit = this.rawSkip ? null : literalSuffix(line);
    this.rawSkip = false;
    if (lit?.plus) {
      this.discarding = true;
      if (lit.n === Infinity) {
        // Cannot know where the literal ends: skip to the next line and hope.
        this.mode = "skipLine";
        this.tail = new Uint8Array(0);
        return;
      }
      this.skipLeft = lit.n;
      this.mode = "skipBytes";
    } else {
      this.discarding = false;
    }
  }

  private keepTail(bytes: Uint8Array): void {
    const keep = 32;
    if (bytes.length >= keep) {
      this.tail = bytes.slice(bytes.length - keep);
    } else {
      const t = new Uint8Array(Math.min(keep, this.tail.length + bytes.length));
      const fromOld = t.length - bytes.length;
      t.set(this.tail.subarray(this.tail.length - fromOld), 0);
      t.set(bytes, fromOld);
      this.tail = t;
    }
  }

  /** Gives back what the command being read holds (the connection is gone). */
  close(): void {
    this.discardBuffered();
  }

  private resetCommand(): void {
    if (this.held) {
      this.budget?.release(this.held);
      this.held = 0;
    }
    this.segs = [];
    this.cmdBytes = 0;
    this.literal = EMPTY;
    this.literalPos = 0;
  }
}

/** "tag APPEND ..." (APPEND takes no UID prefix); the tag is checked by the caller. */
function isAppend(line: Uint8Array): boolean {
  const sp = line.indexOf(SP);
  if (sp < 0 || line.length < sp + 7) return false;
  const name = String.fromCharCode(...line.subarray(sp + 1, sp + 7)).toUpperCase();
  return name === "APPEND" && (line.length === sp + 7 || line[sp + 7] === SP);
}

function errorEvent(tag: string | null, message: string, code?: string): ReaderEvent {
  return code === undefined ? { kind: "error", tag, message } : { kind: "error", tag, code, message };
}
