/**
 * "A message acknowledged with 250 is on disk", tested the hard way: a real `quarantined serve`
 * process takes LMTP deliveries on 16 connections (so commits run on the writer thread too) and
 * is killed with SIGKILL while deliveries are in flight; every message that got its 250 must be
 * in the database afterwards, under the id the 250 named.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate, openStore } from "../../src/storage/db.ts";
import { sampleMessage } from "../delivery/harness.ts";
import { onLines } from "../helpers/lines.ts";

/** One LMTP connection delivering messages one after another until stopped; returns the acknowledged ids. */
function deliverLoop(port: number, acked: number[], stop: { now: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let state: "greeting" | "lhlo" | "mail" | "rcpt" | "data" | "body" = "greeting";
    const send = (line: string) => s.write(line + "\r\n");
    const next = () => {
      if (stop.now) return s.destroy();
      state = "mail";
      send("MAIL FROM:<s@bad.example>");
    };
    onLines(s, (line) => {
      if (line[3] === "-") return; // multi-line reply
      const code = Number(line.slice(0, 3));
      if (state === "greeting") (state = "lhlo"), send("LHLO killtest");
      else if (state === "lhlo") next();
      else if (state === "mail") (state = "rcpt"), send("RCPT TO:<victim@example.com>");
      else if (state === "rcpt") (state = "data"), send("DATA");
      else if (state === "data" && code === 354) {
        state = "body";
        s.write(Buffer.concat([Buffer.from(sampleMessage({ body: "kill test\r\n" })), Buffer.from(".\r\n")]));
      } else if (state === "body") {
        const m = /quarantined as (\d+)/.exec(line);
        if (code === 250 && m) acked.push(Number(m[1]));
        next();
      }
    });
    s.on("error", () => resolve());
    s.on("close", () => resolve());
  });
}

test("SIGKILL during LMTP deliveries: every 250 is in the database afterwards", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "qkill-"));
  try {
    const url = `file:${join(dir, "quarantine.db")}`;
    const setup = await openStore({ url });
    await migrate(setup);
    await setup.client.execute({ sql: "INSERT INTO domains (name, created_at) VALUES ('example.com', ?)", args: [Date.now()] });
    setup.close();

    const args = ["src/main.ts", "serve", "--data-dir", dir, "--imaps-port", "off", "--imap-port", "off", "--http-port", "off", "--lmtp-port", "0"];
    const serve = spawn(process.execPath, "Deno" in globalThis ? ["run", "-A", ...args] : args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, QUARANTINED_ADMIN_PASSWORD: "kill-test-password" },
    });
    const exited = new Promise<void>((r) => serve.on("close", () => r()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`no server.started line: ${out}`)), 20_000);
      serve.stdout!.on("data", (d) => {
        out += d;
        const m = /"event":"server\.started".*?"lmtp":(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      serve.stderr!.on("data", (d) => (out += d));
    });

    const acked: number[] = [];
    const stop = { now: false };
    const loops = Array.from({ length: 16 }, () => deliverLoop(port, acked, stop));
    // let deliveries run, then kill mid-flight
    const until = Date.now() + 10_000;
    while (acked.length < 300 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    serve.kill("SIGKILL");
    stop.now = true;
    await exited;
    await Promise.all(loops);
    const seen = acked.length;
    assert.ok(seen >= 300, `deliveries acknowledged before the kill: ${seen}`);

    const after = await openStore({ url });
    try {
      const rows = await after.client.execute("SELECT id FROM messages WHERE recipient = 'victim@example.com'");
      const stored = new Set(rows.rows.map((r) => Number(r.id)));
      const lost = acked.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${seen} acknowledged messages missing after SIGKILL`);
      // the database is consistent after the crash
      const check = await after.client.execute("PRAGMA integrity_check");
      assert.equal(check.rows[0][0], "ok");
    } finally {
      after.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
