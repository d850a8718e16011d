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

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (quiet || ORDER[level] < threshold) return;
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, event, ...fields }) + "\n");
}
