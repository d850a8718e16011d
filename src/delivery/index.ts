/**
 * Entry points of the background delivery machinery for the rest of the app.
 *
 * `kick()` wakes every running outbox and training worker of this process at once; call it
 * after an action committed (release, report) so the work starts now rather than at the
 * next poll (~500 ms). Other processes sharing the database find the rows by polling.
 */
export { OutboxWorker, traceHeader, type OutboxWorkerOptions } from "./outbox.ts";
export { resolveRoute, parseHostPort, SmtpClient, type ResolvedRoute, type SendOutcome } from "./smtp.ts";

interface Kickable {
  kick(): void;
}

const workers = new Set<Kickable>();

/** Registers a worker for kick(); returns the unregister function. */
export function registerWorker(w: Kickable): () => void {
  workers.add(w);
  return () => workers.delete(w);
}

/** Wake the outbox and training workers now (something was queued). */
export function kick(): void {
  for (const w of workers) w.kick();
}
