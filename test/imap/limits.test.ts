/** Hostile input: every limit answers with a clear IMAP response and the server keeps serving. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { maxConnectionsPerIp: 4, maxMessageBytes: 2000, maxLineBytes: 4096, commandsPerSecond: 50 } }, ["alice@example.com"]);
});
after(async () => t.stop());

test("before login, a large literal is refused without a continuation", async () => {
  const c = await RawClient.connect(t.imaps, true);
  c.write("a LOGIN {100000}\r\n");
  const r = await c.waitFor(/^(a|\*) (BAD|NO)[^\r]*\r\n|^\+[^\r]*\r\n/m);
  assert.match(r, /BAD/);
  assert.doesNotMatch(r, /^\+/m);
  assert.match(await c.cmd("b", "NOOP"), /^b OK/m, "the connection goes on");
  c.close();
});

test("after login, APPEND over APPENDLIMIT is refused and the session goes on", async () => {
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("a", `LOGIN alice@example.com ${PASSWORD}`), /^a OK/m);
  c.write("b APPEND Spam {5000}\r\n");
  assert.match(await c.waitFor(/^(b|\*) (BAD|NO)[^\r]*\r\n/m), /TOOBIG|too large/i);
  assert.match(await c.cmd("c", "NOOP"), /^c OK/m);
  c.close();
});

test("an over-long line gets BAD and the reader resynchronises", async () => {
  const c = await RawClient.connect(t.imaps, true);
  c.write(`a NOOP ${"x".repeat(20000)}\r\n`);
  assert.match(await c.waitFor(/^(a|\*) BAD[^\r]*\r\n/m), /BAD/);
  assert.match(await c.cmd("b", "NOOP"), /^b OK/m);
  c.close();
});

test("garbage, unknown commands and bad tags get BAD, never a crash", async () => {
  const c = await RawClient.connect(t.imaps, true);
  c.write("\x00\x01\x02 \xff\xfe\r\n");
  await c.waitFor(/BAD[^\r]*\r\n/);
  assert.match(await c.cmd("a", "FROBNICATE now"), /^a BAD/m);
  assert.match(await c.cmd("b", "SELECT"), /^b BAD/m);
  assert.match(await c.cmd("c", "FETCH 1 (FLAGS)"), /^c BAD/m);
  c.write("* NOOP\r\n");
  await c.waitFor(/BAD[^\r]*\r\n/);
  assert.match(await c.cmd("d", "NOOP"), /^d OK/m);
  c.close();
});

test("connections per address are limited; others keep working", async () => {
  const open: RawClient[] = [];
  for (let i = 0; i < 4; i++) open.push(await RawClient.connect(i % 2 ? t.imap : t.imaps, i % 2 === 0));
  // the plain port greets a fifth with BYE and closes it
  const extra = await RawClient.connect(t.imap, false);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(extra.closed, true);
  // the implicit-TLS port cannot say BYE before a handshake: it closes the connection at once
  await assert.rejects(RawClient.connect(t.imaps, true));
  open[0].close();
  await new Promise((r) => setTimeout(r, 200));
  const again = await RawClient.connect(t.imaps, true);
  assert.match(await again.cmd("a", "NOOP"), /^a OK/m);
  again.close();
  for (const c of open.slice(1)) c.close();
});

test("a port already in use is one clear error, and nothing is left running", async () => {
  const { startServer } = await import("../../src/server.ts");
  const { resolveConfig, ConfigError } = await import("../../src/config/index.ts");
  const config = resolveConfig([{ source: "test", values: { dataDir: t.dir + "/second", host: "127.0.0.1", imap: { implicitTls: { port: 0 }, starttls: { port: t.imap } }, http: { port: 0 }, admin: { password: "adminpass1" } } }]);
  await assert.rejects(startServer(config), (e: Error) => e instanceof ConfigError && /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE/.test(e.message));
});

test("error replies quote at most 64 characters of the client's input", async () => {
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("a", `LOGIN alice@example.com ${PASSWORD}`), /^a OK/m);
  await c.cmd("s", "SELECT Caught");
  const long = "A".repeat(3000);
  for (const [tag, command, prefix] of [
    ["f", `FETCH 1 (${long})`, "Invalid FETCH item: "],
    ["g", `SEARCH ${long}`, "Unknown search key "],
    ["h", `SEARCH CHARSET ${long} ALL`, "Unsupported charset "],
    ["i", `UID SEARCH UID 1,${long}`, "Invalid sequence set: 1,"],
    ["j", `SEARCH SINCE "${long}"`, "Invalid date: "],
    ["k", `LIST (${long}) "" "*"`, "Unknown LIST selection option "],
  ]) {
    const r = await c.cmd(tag, command);
    const line = r.split("\r\n").find((l) => l.startsWith(`${tag} `))!;
    assert.match(line, new RegExp(`^${tag} (BAD|NO) (\\[[A-Z (\\-)0-9]+\\] )?${prefix.replace(/[()]/g, "\\$&")}A+\\.\\.\\.$`), line.slice(0, 200));
    assert.ok(line.length < 140, `${line.length} bytes: ${line.slice(0, 120)}`);
  }
  c.close();
});

test("APPEND checks its flags and date-time (RFC 3501 §9): BAD for what breaks the grammar", async () => {
  const c = await RawClient.connect(t.imaps, true);
  assert.match(await c.cmd("a", `LOGIN alice@example.com ${PASSWORD}`), /^a OK/m);
  const msg = "From: x@y.test\r\nSubject: t\r\n\r\nbody\r\n";
  const append = async (tag: string, opts: string) => {
    c.write(`${tag} APPEND Spam ${opts}${opts ? " " : ""}{${msg.length}+}\r\n${msg}\r\n`);
    return (await c.waitFor(new RegExp(`^${tag} (OK|NO|BAD)[^\\r]*\\r\\n`, "m"))).split("\r\n").find((l) => l.startsWith(`${tag} `))!;
  };
  for (const opts of ["", "()", "(\\Seen $Junk)", '"7-Nov-2026 18:36:18 +0100"', '" 7-Nov-2026 18:36:18 -0000"', '(\\Seen) "27-Nov-2026 18:36:18 +0000"']) {
    assert.match(await append("g", opts), /^g OK/, opts);
  }
  for (const opts of [
    '() "99-Foo-2026 99:99:99 +9999"', '"31-Feb-2026 10:00:00 +0000"', '"27-Nov-2026 24:00:00 +0000"', '"27-Nov-2026 10:00:00 +0160"',
    "() NOTADATE", "NOTAFLAGLIST", '("str" (nested))', "(\\Recent)", '"x" "y"', '"27-Nov-2026 18:36:18 +0000" ()', '() () "27-Nov-2026 18:36:18 +0000"',
  ]) {
    assert.match(await append("b", opts), /^b BAD/, opts);
  }
  assert.match(await c.cmd("q", 'APPEND Spam "From: x\r\n"'.replace("\r\n", "")), /^q BAD/m, "the message must be a literal");
  assert.match(await c.cmd("n", "NOOP"), /^n OK/m);
  c.close();
});
