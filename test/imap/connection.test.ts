/**
 * Connection lifecycle under hostile clients: STARTTLS with a reset peer, connection slots
 * freed exactly once, handshake and login deadlines, and sessions that keep answering after a
 * refused IDLE/STARTTLS/AUTHENTICATE/COMPRESS.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { RawClient } from "../helpers/imap-client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A plain TCP connection that has read the greeting. */
async function plain(port: number): Promise<{ sock: net.Socket; greeting: string }> {
  const sock = net.connect({ host: "127.0.0.1", port });
  sock.on("error", () => {});
  const greeting = await new Promise<string>((resolve, reject) => {
    let buf = "";
    const onClose = () => reject(new Error(`closed before the greeting: ${buf}`));
    sock.on("data", function onData(d: Buffer) {
      buf += d.toString("latin1");
      if (buf.includes("\r\n")) {
        sock.off("data", onData);
        sock.off("close", onClose);
        resolve(buf);
      }
    });
    sock.once("close", onClose);
  });
  return { sock, greeting };
}

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { maxConnectionsPerIp: 3 } }, ["alice@example.com"]);
});
after(async () => t.stop());

test("STARTTLS followed at once by a TCP reset ends only that session", async () => {
  for (let i = 0; i < 5; i++) {
    const { sock } = await plain(t.imap);
    sock.write("a STARTTLS\r\n");
    sock.resetAndDestroy();
  }
  await sleep(300);
  const c = await RawClient.connect(t.imap, false);
  assert.match(await c.cmd("b", "NOOP"), /^b OK/m);
  c.close();
});

test("STARTTLS sessions free their per-address slot when they end", async () => {
  // more sessions than maxConnectionsPerIp (3), one after the other
  for (let i = 0; i < 8; i++) {
    const c = await RawClient.connect(t.imap, false);
    assert.match(c.sock.remoteAddress ?? "", /127\.0\.0\.1/);
    assert.match(await c.cmd("a", "STARTTLS"), /^a OK/m, `session ${i}`);
    await c.starttls();
    assert.match(await c.cmd("b", "LOGOUT"), /^b OK/m);
    c.close();
    await sleep(50);
  }
  await sleep(200);
  for (const secure of [false, true]) {
    const c = await RawClient.connect(secure ? t.imaps : t.imap, secure);
    assert.match(await c.cmd("z", "NOOP"), /^z OK/m, `a new ${secure ? "implicit TLS" : "plain"} connection is served`);
    c.close();
  }
});
