/**
 * Imported first by main.ts. A compiled Bun binary unpacks the libSQL native addon into
 * $TMPDIR before it can open any database (STACK-NOTES §7); when that directory is not
 * writable the failure is an obscure ERR_DLOPEN_FAILED, so say what is wrong instead.
 */
import { mkdtempSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { isCompiled } from "./runtime.ts";

export function tmpdirProblem(env: Record<string, string | undefined> = process.env): string | undefined {
  // Bun uses $TMPDIR and falls back to /tmp, not os.tmpdir()'s other candidates.
  const dir = env.TMPDIR || "/tmp";
  try {
    // Actually create something: access(W_OK) says yes to root even on a read-only mount.
    rmdirSync(mkdtempSync(join(dir, ".quarantined-probe-")));
    return undefined;
  } catch {
    return `quarantined: TMPDIR (${dir}) is not writable; the embedded libSQL addon must be unpacked there`;
  }
}

if (isCompiled()) {
  const problem = tmpdirProblem();
  if (problem) {
    process.stderr.write(problem + "\n");
    process.exit(2);
  }
}
