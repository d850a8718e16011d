/**
 * Buffered response writer: responses are queued as strings or byte chunks and flushed in
 * ~64 KiB writes; a full socket buffer makes flush() wait for 'drain' (backpressure), so a slow
 * reader of a 10,000-message FETCH cannot grow our memory without bound.
 */
import type { Socket } from "node:net";
import { imapMetrics } from "../../observability/metrics.ts";

const enc = new TextEncoder();
const FLUSH_AT = 256 * 1024;

export class ResponseWriter {
  private parts: (string | Uint8Array)[] = [];
  private pending = 0;
  closed = false;

  constructor(private sock: Socket) {}

  setSocket(sock: Socket): void {
    this.sock = sock;
  }

  /** Queues text (UTF-8 on the wire). Does not add CRLF. */
  text(s: string): void {
    this.parts.push(s);
    this.pending += s.length;
  }

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.pending += b.length;
  }

  line(s: string): void {
    this.text(s + "\r\n");
  }

  get buffered(): number {
    return this.pending;
  }

  /** Flushes when enough is queued; call in loops that produce a lot. */
  async maybeFlush(): Promise<void> {
    if (this.pending >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0 || this.closed) {
      this.parts = [];
      this.pending = 0;
      return;
    }
    const chunks: Uint8Array[] = [];
    let run = "";
    for (const p of this.parts) {
      if (typeof p === "string") run += p;
      else {
        if (run) chunks.push(enc.encode(run)), (run = "");
        chunks.push(p);
      }
    }
    if (run) chunks.push(enc.encode(run));
    this.parts = [];
    this.pending = 0;
    const data = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    imapMetrics.bytesOut.inc({}, data.length);
    if (!this.sock.write(data)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.sock.off("drain", done);
          this.sock.off("close", done);
          resolve();
        };
        this.sock.once("drain", done);
        this.sock.once("close", done);
      });
    }
  }
}
