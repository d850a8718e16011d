/** Structured logs: one JSON object per line on stdout. Never pass secrets in `fields`. */
type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = ORDER.info;
let quiet = false;

export function setLogLevel(level: Level): void {
  threshold = ORDER[level];
}
/** Tests silence the log to keep their output readable. */
export function setLogQuiet(q: boolean): void {
  quiet = q;
}

/**
 * drizzle's query errors read "Failed query: <sql>\nparams: <values>", and the values can be
 * a new password hash, a message or an address: the params part is cut wherever it appears
 * (messages and stacks alike), up to the stack frames that follow it.
 */
const QUERY_PARAMS = /(Failed query: [\s\S]*?)\nparams: [\s\S]*?(?=\n\s+at |$)/g;

export function redactErrorText(s: string): string {
  return s.includes("\nparams: ") ? s.replace(QUERY_PARAMS, "$1\nparams: <not logged>") : s;
}

/**
 * One line about an error for the log or a terminal, without statement parameters: a query
 * error becomes its SQL text and its cause ("Failed query: update ... : SQLITE_BUSY: database
 * is locked"). `stack` adds the stack (itself redacted).
 */
export function errorText(e: unknown, opts: { stack?: boolean } = {}): string {
  const err = e as { message?: unknown; query?: unknown; params?: unknown; cause?: unknown; stack?: unknown } | null | undefined;
  if (err && typeof err === "object" && typeof err.query === "string" && "params" in err) {
    const cause = err.cause !== undefined && err.cause !== e ? `: ${errorText(err.cause)}` : "";
    return `Failed query: ${err.query}${cause}`;
  }
  if (opts.stack && err && typeof err === "object" && typeof err.stack === "string") return redactErrorText(err.stack);
  if (err && typeof err === "object" && typeof err.message === "string") return redactErrorText(err.message);
  return redactErrorText(String(e));
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (quiet || ORDER[level] < threshold) return;
  // A last guard for callers that log String(e) of a query error themselves.
  for (const [k, v] of Object.entries(fields)) if (typeof v === "string" && v.includes("\nparams: ")) fields = { ...fields, [k]: redactErrorText(v) };
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, event, ...fields }) + "\n");
}
