/**
 * `--password-stdin` at a terminal: a prompt, no echo. Driven through a real pseudo-terminal
 * (python3's pty module), as a person typing would.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { addDomain, authenticate } from "../../src/quarantine/accounts.ts";
import { migrate, openStore } from "../../src/storage/db.ts";
import { run, which } from "../delivery/harness.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const PTY_DRIVER = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def read_for(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return False
            if not d:
                return False
            out += d
            if b"Password:" in out and not typed[0]:
                return True
    return True
typed = [False]
read_for(20)
typed[0] = True
os.write(fd, b"Typed-Secret-42x\\r")
read_for(20)
sys.stdout.write(out.decode("utf-8", "replace"))
`;

test("account add --password-stdin at a terminal prompts and does not echo the password", { timeout: 60_000 }, async (t) => {
  if (!(await which("python3"))) return t.skip("python3 is not installed");
  const dir = mkdtempSync(join(tmpdir(), "quarantined-tty-"));
  try {
    const store = await openStore({ url: `file:${join(dir, "quarantine.db")}` });
    await migrate(store);
    await addDomain(store, { name: "example.com" });
    store.close();
    const bun = join(root, "node_modules/.bin/bun");
    const r = await run("python3", ["-c", PTY_DRIVER, bun, join(root, "src/main.ts"), "account", "add", "tty@example.com", "--password-stdin", "--data-dir", dir], { timeoutMs: 50_000 });
    assert.match(r.stdout, /Password:/, `terminal showed: ${JSON.stringify(r.stdout)} ${r.stderr}`);
    assert.doesNotMatch(r.stdout, /Typed-Secret-42x/, "the password was shown on the terminal");
    assert.match(r.stdout, /tty@example\.com/);
    const again = await openStore({ url: `file:${join(dir, "quarantine.db")}` });
    try {
      assert.ok(await authenticate(again, "tty@example.com", "Typed-Secret-42x"), "the typed password is the account's");
    } finally {
      again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
