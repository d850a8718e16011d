import { imapMetrics } from "../../observability/metrics.ts";
import { upgradeToTls } from "../../tls/index.ts";
import type { TLSSocket } from "node:tls";
import { expectArgs, type CommandSpec } from "./result.ts";

/**
 * STARTTLS: answer OK, drop anything the client pipelined after the command (RFC 3501 §6.2.1,
 * CVE-2011-0411 class), then hand the socket to TLS and go on reading from the TLS socket.
 * A client that resets the connection at any point only ends its own session.
 */
export const starttls: CommandSpec = {
  names: ["STARTTLS"],
  states: ["notauth"],
  async run(s, cmd) {
    expectArgs(cmd, 0);
    if (s.secure) {
      s.out.line(`${cmd.tag} BAD TLS is already active`);
      s.releaseInput();
      return;
    }
    s.discardInput();
    s.detach();
    s.out.line(`${cmd.tag} OK Begin TLS negotiation now`);
    await s.out.flush();
    // The client went away (a reset) before or while the OK was written.
    if (s.isClosed) return;
    const plain = s.sock;
    const tlsSock = upgradeToTls(plain, s.deps.tls);
    s.secure = true;
    // The session's timeouts measure inactivity; the handshake gets a fixed time.
    const timer = setTimeout(() => {
      imapMetrics.errors.inc({ kind: "tls_handshake_timeout" });
      tlsSock.destroy();
      plain.destroy();
    }, s.deps.config.limits.tlsHandshakeTimeoutSeconds * 1000);
    timer.unref?.();
    tlsSock.once("close", () => clearTimeout(timer));
    tlsSock.once("secure", () => {
      clearTimeout(timer);
      s.tlsVersion = (tlsSock as TLSSocket).getProtocol() ?? undefined;
      imapMetrics.tlsSessions.inc({ listener: s.listener, version: s.tlsVersion ?? "unknown" });
    });
    s.attach(tlsSock);
    s.releaseInput();
  },
};
