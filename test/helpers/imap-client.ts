/**
 * A minimal raw IMAP client for transcript tests: write exact bytes, read responses up to a
 * tagged reply. Deliberately dumb, so the test controls every byte on the wire.
 */
import net from "node:net";
import tls from "node:tls";

export class RawClient {
  private buf = "";
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(public sock: net.Socket) {
    this.bind(sock);
  }

  private bind(sock: net.Socket) {
    this.sock = sock;
    sock.setEncoding("latin1");
    sock.on("data", (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("error", () => {});
  }

  static async connect(port: number, secure: boolean, opts: tls.ConnectionOptions = {}): Promise<RawClient> {
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = secure
        ? tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...opts }, () => resolve(s))
        : net.connect({ host: "127.0.0.1", port }, () => resolve(s));
      s.once("error", reject);
    });
    const c = new RawClient(sock);
    await c.waitFor(/^\* (OK|BYE).*\r\n/m);
    return c;
  }

  write(data: string): void {
    this.sock.write(data);
  }

  /** Waits until the buffer matches; returns and consumes everything up to the end of the match. */
  async waitFor(re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${re}; got: ${this.buf}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${re}; got: ${this.buf}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a command and returns all lines up to and including its tagged reply. */
  async cmd(tag: string, command: string, timeoutMs = 5000): Promise<string> {
    this.write(`${tag} ${command}\r\n`);
    return this.waitFor(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, "m"), timeoutMs);
  }

  async starttls(): Promise<void> {
    const sock = this.sock;
    sock.removeAllListeners("data");
    const t = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: sock, rejectUnauthorized: false, servername: "localhost" }, () => resolve(s));
      s.once("error", reject);
    });
    this.buf = "";
    this.bind(t);
  }

  close(): void {
    this.sock.destroy();
  }
}
