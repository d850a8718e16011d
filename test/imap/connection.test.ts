/**
 * Connection lifecycle under hostile clients: STARTTLS with a reset peer, connection slots
 * freed exactly once, handshake and login deadlines, and sessions that keep answering after a
 * refused IDLE/STARTTLS/AUTHENTICATE/COMPRESS.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { RawClient } from "../helpers/imap-client.ts";
import { PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TCP connection that sends nothing; resolves `closed` when the server closes it. */
async function silent(port: number): Promise<{ sock: net.Socket; closed: Promise<number> }> {
  const sock = net.connect({ host: "127.0.0.1", port });
  sock.on("error", () => {});
  sock.on("data", () => {});
  const opened = Date.now();
  const closed = new Promise<number>((r) => sock.once("close", () => r(Date.now() - opened)));
  await new Promise<void>((r, j) => {
    sock.once("connect", () => r());
    sock.once("error", j);
  });
  return { sock, closed };
}

/** Waits until the connections of earlier tests are gone (their slots free). */
async function settled(): Promise<void> {
  for (let i = 0; i < 100 && t.server.imap.connections() > 0; i++) await sleep(30);
  assert.equal(t.server.imap.connections(), 0, "connections left over from an earlier test");
}

/** Resolves to true when the promise settles within ms, false otherwise. */
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);

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
  t = await startTestServer({ limits: { maxConnectionsPerIp: 3, tlsHandshakeTimeoutSeconds: 1 } }, ["alice@example.com"]);
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
  await settled();
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
  await settled();
  for (const secure of [false, true]) {
    const c = await RawClient.connect(secure ? t.imaps : t.imap, secure);
    assert.match(await c.cmd("z", "NOOP"), /^z OK/m, `a new ${secure ? "implicit TLS" : "plain"} connection is served`);
    c.close();
  }
});

test("implicit TLS: connections still in their handshake count against the limits and are closed after the handshake timeout", async () => {
  await settled();
  const silents = await Promise.all([silent(t.imaps), silent(t.imaps), silent(t.imaps)]);
  await sleep(100);
  // the address's 3 slots are taken: the implicit-TLS port closes a fourth at once, the plain port says BYE
  const fourth = await silent(t.imaps);
  assert.equal(await within(fourth.closed, 1000), true, "over the limit on the TLS port: closed");
  const { sock, greeting } = await plain(t.imap);
  assert.match(greeting, /^\* BYE \[UNAVAILABLE\]/);
  sock.destroy();
  // tlsHandshakeTimeoutSeconds = 1
  for (const c of silents) {
    assert.equal(await within(c.closed, 3000), true, "a silent handshake is closed");
    assert.ok((await c.closed) >= 900, `closed after ${await c.closed} ms`);
  }
  await settled();
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("a", "NOOP"), /^a OK/m, "the slots are free again");
  c.close();
});

test("implicit TLS: the handshake timeout is a deadline, not an inactivity timer", async () => {
  const { sock, closed } = await silent(t.imaps);
  // a TLS record header, then one byte at a time: never a complete ClientHello
  const hello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  let i = 0;
  const drip = setInterval(() => {
    if (i < hello.length && !sock.destroyed) sock.write(hello.subarray(i, ++i));
  }, 150);
  try {
    assert.equal(await within(closed, 3000), true, "a dribbling handshake is closed");
  } finally {
    clearInterval(drip);
    sock.destroy();
  }
});

test("a completed handshake is not cut off by the handshake timeout", async () => {
  const c = await RawClient.connect(t.imaps, true);
  const s = await RawClient.connect(t.imap, false);
  assert.match(await s.cmd("a", "STARTTLS"), /^a OK/m);
  await s.starttls();
  await sleep(1600);
  assert.match(await c.cmd("b", "NOOP"), /^b OK/m);
  assert.match(await s.cmd("b", "NOOP"), /^b OK/m);
  c.close();
  s.close();
});

test("STARTTLS: a client that never starts the handshake is closed after the timeout, and its slot freed", async () => {
  await settled();
  const conns: net.Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const { sock } = await plain(t.imap);
    sock.write("a STARTTLS\r\n");
    conns.push(sock);
  }
  const closed = conns.map((c) => new Promise<void>((r) => (c.destroyed ? r() : c.once("close", () => r()))));
  assert.equal(await within(Promise.all(closed), 4000), true, "all closed by the server");
  await settled();
  const c = await RawClient.connect(t.imap, false);
  assert.match(await c.cmd("z", "NOOP"), /^z OK/m);
  c.close();
});

test("before login there is a deadline from connect, however active the client is", async () => {
  const t2 = await startTestServer({ limits: { preAuthDeadlineSeconds: 2, preAuthTimeoutSeconds: 60 } }, ["alice@example.com"]);
  try {
    const busy = await RawClient.connect(t2.imaps, true);
    const started = Date.now();
    const dribbler = await RawClient.connect(t2.imap, false);
    const user = await RawClient.connect(t2.imaps, true);
    assert.match(await user.cmd("l", `LOGIN alice@example.com ${PASSWORD}`), /^l OK/m);
    // a NOOP every 300 ms, and a command one byte at a time: both keep the inactivity timer happy
    const noops = setInterval(() => !busy.closed && busy.write("n NOOP\r\n"), 300);
    const partial = "d NOOP and then nothing";
    let i = 0;
    const drip = setInterval(() => !dribbler.closed && i < partial.length && dribbler.write(partial[i++]), 200);
    try {
      assert.match(await busy.waitFor(/^\* BYE [^\r]*\r\n/m, 5000), /BYE Autologout/);
      assert.ok(Date.now() - started >= 1800, `BYE after ${Date.now() - started} ms`);
      assert.match(await dribbler.waitFor(/^\* BYE [^\r]*\r\n/m, 5000), /BYE Autologout/);
    } finally {
      clearInterval(noops);
      clearInterval(drip);
    }
    await sleep(300);
    assert.equal(busy.closed, true);
    assert.equal(dribbler.closed, true);
    // logged in before the deadline: not affected
    assert.match(await user.cmd("m", "NOOP"), /^m OK/m);
    user.close();
  } finally {
    await t2.stop();
  }
});

test("a refused IDLE, STARTTLS or AUTHENTICATE completes with BAD and the session goes on", async () => {
  await settled();
  const cases: { secure: boolean; login: boolean; cmd: string }[] = [
    { secure: false, login: false, cmd: "IDLE" },
    { secure: true, login: false, cmd: "IDLE" },
    { secure: false, login: false, cmd: "STARTTLS now" },
    { secure: true, login: true, cmd: "AUTHENTICATE PLAIN" },
    { secure: true, login: true, cmd: "STARTTLS" },
    { secure: true, login: true, cmd: "IDLE extra" },
    { secure: true, login: true, cmd: "UID IDLE" },
  ];
  for (const k of cases) {
    const what = `${k.cmd} (${k.secure ? "TLS" : "plain"}${k.login ? ", logged in" : ""})`;
    const c = await RawClient.connect(k.secure ? t.imaps : t.imap, k.secure);
    if (k.login) assert.match(await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`), /^l OK/m);
    // answered alone, then a command on its own
    assert.match(await c.cmd("b1", k.cmd), /^b1 BAD/m, what);
    assert.match(await c.cmd("n1", "NOOP", 3000), /^n1 OK/m, `${what}: the next command is answered`);
    // pipelined in one packet with the next commands
    c.write(`b2 ${k.cmd}\r\nn2 NOOP\r\nn3 CAPABILITY\r\n`);
    const r = await c.waitFor(/^n3 (OK|NO|BAD)[^\r]*\r\n/m, 3000);
    assert.match(r, /^b2 BAD/m, what);
    assert.match(r, /^n2 OK/m, what);
    c.close();
    await settled();
  }
});

test("commands pipelined after COMPRESS (not offered) are answered at once", async () => {
  for (const login of [false, true]) {
    const c = await RawClient.connect(t.imaps, true);
    if (login) assert.match(await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`), /^l OK/m);
    c.write("c1 COMPRESS DEFLATE\r\nc2 NOOP\r\n");
    const r = await c.waitFor(/^c2 (OK|NO|BAD)[^\r]*\r\n/m, 3000);
    assert.match(r, /^c1 BAD/m);
    assert.match(r, /^c2 OK/m);
    assert.match(await c.cmd("c3", "NOOP"), /^c3 OK/m);
    c.close();
    await settled();
  }
});
