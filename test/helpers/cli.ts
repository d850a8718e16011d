/** Runs `quarantined` from the sources in a child process, under the runtime running the tests. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** umask: run under this umask (through sh) instead of the test runner's. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; stdin?: string | Uint8Array; timeoutMs?: number; umask?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    let cmd = process.execPath;
    let argv = "Deno" in globalThis ? ["run", "-A", MAIN, ...args] : [MAIN, ...args];
    if (opts.umask) [cmd, argv] = ["sh", ["-c", `umask ${opts.umask} && exec "$@"`, "sh", cmd, ...argv]];
    const p = spawn(cmd, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d) => (stdout += d));
    p.stderr!.on("data", (d) => (stderr += d));
    p.stdin!.end(opts.stdin ?? "");
    // a command that should have failed at once but started a server instead
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
