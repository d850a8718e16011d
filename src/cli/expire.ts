import { expire } from "../quarantine/expiry.ts";
import { configFrom, DATABASE_HELP, openFromConfig, parse, print, UsageError } from "./context.ts";

export const help = `quarantined expire [--now ISO-DATE]

Moves quarantined messages past their retention out of the quarantine, forgets finished rows
after 30 days and collects stored messages nothing refers to. A running server does this on a timer.

${DATABASE_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { now: { type: "string" } }, false);
  if (values.help) return print(help), 0;
  const now = values.now ? Date.parse(values.now) : Date.now();
  if (!Number.isFinite(now)) throw new UsageError(`--now: expected an ISO date (2026-05-01 or 2026-05-01T12:00:00Z), got ${JSON.stringify(values.now)}`);
  const store = await openFromConfig(configFrom(values));
  try {
    const r = await expire(store, { now });
    print(`expired ${r.expired} message(s), forgot ${r.purgedRows} finished row(s), collected ${r.collectedBlobs} stored message(s)`);
    return 0;
  } finally {
    store.close();
  }
}
