/**
 * The composition root starts the LMTP listener (config.lmtp.enabled, port 0 here) and the
 * delivery workers, reports ports.lmtp, and a release queued afterwards is delivered after
 * kick() without waiting for a poll.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { kick } from "../../src/delivery/index.ts";
import { release } from "../../src/quarantine/actions.ts";
import { startServer } from "../../src/server.ts";
import { ADMIN, addDomain, rows, sampleMessage, startSink, tempStore, testConfig, waitFor } from "../delivery/harness.ts";

test("startServer: LMTP in, release out through the workers", { timeout: 30_000 }, async () => {
  const t = await tempStore();
  const sink = await startSink();
  const config = testConfig({
    dataDir: t.dir,
    host: "127.0.0.1",
    database: { url: t.url },
    http: { enabled: false },
    imap: { implicitTls: { enabled: false, port: 0 }, starttls: { enabled: false, port: 0 } },
    lmtp: { enabled: true, port: 0 },
    admin: { password: "admin-password-123" },
  });
  const srv = await startServer(config);
  try {
    assert.ok(srv.ports.lmtp && srv.ports.lmtp > 0);
    await addDomain(srv.store, "example.com", `127.0.0.1:${sink.port}`);
    const tr = nodemailer.createTransport({ host: "127.0.0.1", port: srv.ports.lmtp, lmtp: true, ignoreTLS: true } as never);
    const info = await tr.sendMail({ envelope: { from: "s@bad.example", to: ["alice@example.com"] }, raw: Buffer.from(sampleMessage()) });
    tr.close();
    const id = Number(/quarantined as (\d+)/.exec(String(info.response))![1]);
    assert.deepEqual(await release(srv.store, ADMIN, [id], "release"), [id]);
    const t0 = Date.now();
    kick();
    await waitFor("delivery", () => sink.received.length === 1, 5000, 5);
    assert.ok(Date.now() - t0 < 450, "kick() starts delivery before the next poll");
    await waitFor("released", async () => (await rows<{ state: string }>(srv.store, "SELECT state FROM messages WHERE id = ?", [id]))[0].state === "released");
  } finally {
    await srv.stop();
    await sink.close();
    t.cleanup();
  }
});

test("startServer: a message delivered over LMTP is found at once by IMAP SEARCH TEXT (word index caught up first)", { timeout: 30_000 }, async () => {
  const { startTestServer, PASSWORD } = await import("../helpers/server.ts");
  const { RawClient } = await import("../helpers/imap-client.ts");
  const { addAccount } = await import("../../src/quarantine/accounts.ts");
  const t = await startTestServer({ lmtp: { enabled: true, port: 0 } });
  const c = await RawClient.connect(t.imaps, true);
  try {
    await addDomain(t.server.store, "example.com");
    await addAccount(t.server.store, { login: "alice@example.com", password: PASSWORD });
    const tr = nodemailer.createTransport({ host: "127.0.0.1", port: t.server.ports.lmtp, lmtp: true, ignoreTLS: true } as never);
    const info = await tr.sendMail({ envelope: { from: "s@bad.example", to: ["alice@example.com"] }, raw: Buffer.from(sampleMessage({ body: "a quixotic wombat\r\n" })) });
    tr.close();
    const uid = Number(/quarantined as (\d+)/.exec(String(info.response))![1]);
    // right after the 250 the words are normally still queued (the indexer waits for a pause);
    // the search must not miss the message either way
    await c.cmd("l", `LOGIN alice@example.com ${PASSWORD}`);
    await c.cmd("s", "SELECT Caught");
    assert.match(await c.cmd("f", 'UID SEARCH TEXT "wombat"'), new RegExp(`^\\* SEARCH ${uid}\\r?$`, "m"));
    assert.match(await c.cmd("g", 'UID SEARCH BODY "quixo"'), new RegExp(`^\\* SEARCH ${uid}\\r?$`, "m"));
    assert.equal((await rows(t.server.store, "SELECT blob_id FROM word_index_queue")).length, 0);

    // the LMTP listener shows in /status and its deliveries in /metrics
    const status = (await (await fetch(`http://127.0.0.1:${t.http}/status`)).json()) as { listeners: { name: string; port: number; bound: boolean }[] };
    assert.deepEqual(status.listeners.find((l) => l.name === "lmtp"), { ...status.listeners.find((l) => l.name === "lmtp"), port: t.server.ports.lmtp, bound: true });
    const metrics = await (await fetch(`http://127.0.0.1:${t.http}/metrics`)).text();
    assert.match(metrics, /^quarantined_lmtp_deliveries_total\{result="stored"\} [1-9]/m);
    assert.match(metrics, /^quarantined_lmtp_recipients_total\{result="accepted"\} [1-9]/m);
  } finally {
    await c.cmd("z", "LOGOUT").catch(() => {});
    await t.stop();
  }
});
