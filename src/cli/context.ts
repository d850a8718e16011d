/**
 * What every subcommand shares: parsing its flags (node:util parseArgs, strict, so an unknown
 * flag is one clear line), loading the layered config, and opening the migrated store.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig, type Config } from "../config/index.ts";
import { databaseUrl, migrate, openStore, type Store } from "../storage/db.ts";

export class UsageError extends Error {}

export const COMMON_OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  db: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message.split("\n")[0]);
  }
}

export function configFrom(values: Record<string, unknown>): Config {
  const flags: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === "string" && k !== "config") flags[k] = v;
  return loadConfig({ configFile: values.config as string | undefined, flags });
}

/** Opens and migrates the configured database; a failure is one line naming the database. */
export async function openFromConfig(config: Config): Promise<Store> {
  const url = databaseUrl(config.dataDir, config.database.url);
  let store: Store | undefined;
  try {
    store = await openStore({ url, authToken: config.database.authToken, busyTimeoutMs: config.database.busyTimeoutMs });
    await migrate(store);
    return store;
  } catch (e) {
    store?.close();
    const why = String((e as Error).message ?? e).split("\n")[0];
    throw new UsageError(`database ${url.replace(/\?.*$/, "")}: cannot open (${why})`);
  }
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
