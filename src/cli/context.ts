/**
 * What every subcommand shares: parsing its flags (node:util parseArgs, strict, so an unknown
 * flag is one clear line), loading the layered config, and opening the migrated store.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type Config } from "../config/index.ts";
import { getDomain, isKnownRecipient } from "../quarantine/accounts.ts";
import { domainOf } from "../quarantine/scope.ts";
import { databaseUrl, migrate, openStore, type Store } from "../storage/db.ts";

export class UsageError extends Error {}

export const COMMON_OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  db: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O, allowPositionals = true) {
  const all = { ...COMMON_OPTIONS, ...options };
  // parseArgs takes "--score -3" for two options ("argument is ambiguous"): a negative number
  // after an option that takes a value is that value (checked by the command, one clear line).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") {
      args.push(...argv.slice(i));
      break;
    }
    const name = /^--([\w-]+)$/.exec(argv[i])?.[1];
    const takesValue = name !== undefined && (all as ParseArgsConfig["options"])![name]?.type === "string";
    args.push(takesValue && /^-\d/.test(argv[i + 1] ?? "") ? `${argv[i]}=${argv[++i]}` : argv[i]);
  }
  try {
    return parseArgs({ args, options: all, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}

export function configFrom(values: Record<string, unknown>): Config {
  const flags: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === "string" && k !== "config") flags[k] = v;
  return loadConfig({ configFile: values.config as string | undefined, flags });
}

/** The options every command that opens the database takes, for its --help. */
export const DATABASE_HELP = `The database is <data dir>/quarantine.db (--data-dir DIR or QUARANTINED_DATA_DIR, default
./data), or --db URL; --config FILE reads a JSON config (see serve --help).`;

/**
 * Opens and migrates the configured database; a failure is one line naming the database.
 * Only `serve` and `migrate` create a local database file: for any other command a missing
 * one means the wrong directory (a forgotten --data-dir), not a fresh start.
 */
export async function openFromConfig(config: Config, opts: { create?: boolean } = {}): Promise<Store> {
  const url = databaseUrl(config.dataDir, config.database.url);
  const file = url.startsWith("file:") ? url.slice("file:".length).replace(/\?.*$/, "") : undefined;
  if (!opts.create && file && !file.startsWith(":memory:") && !existsSync(resolve(file))) {
    throw new UsageError(`no database at ${resolve(file)} (start the server or run "quarantined migrate" first, or pass --data-dir)`);
  }
  let store: Store | undefined;
  try {
    store = await openStore({ url, authToken: config.database.authToken, busyTimeoutMs: config.database.busyTimeoutMs });
    await migrate(store);
    return store;
  } catch (e) {
    store?.close();
    // drizzle wraps the driver's error ("Failed query: ..."): the cause says what went wrong
    let err = e as Error & { cause?: unknown };
    while (err?.cause instanceof Error && /^Failed query/.test(err.message)) err = err.cause as typeof err;
    const why = String(err?.message ?? err).split("\n")[0];
    throw new UsageError(`database ${url.replace(/\?.*$/, "")}: cannot open (${why})`);
  }
}

/** The one line for a domain nothing quarantines for. */
export function noDomain(domain: string): string {
  return `no domain ${domain}: add it first with "domain add ${domain}"`;
}

/** Refuses a domain that has no quarantine (no `domain add`). */
export async function requireDomain(store: Store, domain: string): Promise<void> {
  if (!(await getDomain(store, domain))) throw new UsageError(noDomain(domain.toLowerCase()));
}

/** Refuses an address nothing quarantines for: the recipients LMTP answers with 550. */
export async function requireKnownRecipient(store: Store, address: string): Promise<void> {
  if (!(await isKnownRecipient(store, address))) throw new UsageError(noDomain(domainOf(address)));
}

export async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === "string" ? new TextEncoder().encode(c) : c);
  return Buffer.concat(chunks);
}

export async function readPasswordStdin(): Promise<string> {
  if (process.stdin.isTTY) return readPasswordFromTerminal();
  const text = new TextDecoder().decode(await readStdin());
  return text.replace(/\r?\n$/, "");
}

/** A password typed at a terminal: prompted on stderr, not echoed, ended by Enter (Ctrl-C aborts). */
function readPasswordFromTerminal(): Promise<string> {
  const stdin = process.stdin;
  stdin.setRawMode(true); // echo off before the prompt, so nothing typed after it shows
  process.stderr.write("Password: ");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = "";
    const done = (err?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === "string" ? chunk : chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") return done();
        if (ch === "\u0003") return done(new UsageError("password entry cancelled"));
        if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    stdin.on("data", onData);
  });
}

export const print = (s: string) => process.stdout.write(s + "\n");
