/**
 * Last resort for the long-running server: an exception nothing caught (an 'error' event
 * without a listener, a throw in a timer callback) or a promise rejection nobody handled is
 * logged as an error event and counted, and the process keeps serving. Without this, Bun and
 * Deno end the process on the first one, so one client's socket error could take every
 * listener down. Each event is still a bug to fix where it starts. Only `serve` installs it:
 * one-shot CLI commands and the test runners keep the default (fail loudly).
 * process.on works the same on Bun, Deno 2 and Node.
 */
import { errorText, log } from "../observability/log.ts";
import { processMetrics } from "../observability/metrics.ts";

export function installCrashGuard(): () => void {
  const report = (kind: "exception" | "rejection", e: unknown, origin?: string) => {
    try {
      processMetrics.uncaught.inc({ kind });
      log("error", kind === "exception" ? "process.uncaught_exception" : "process.unhandled_rejection", { error: errorText(e, { stack: true }), ...(origin ? { origin } : {}) });
    } catch {
      // nothing left to report to (stdout gone); keep serving anyway
    }
  };
  const onException = (e: unknown, origin?: string) => report("exception", e, origin);
  const onRejection = (e: unknown) => report("rejection", e);
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
