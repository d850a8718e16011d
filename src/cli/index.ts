/**
 * `quarantined <command>`: one module per command, each with `help` and `run(argv)`.
 * Usage and config errors print one line and exit 2; anything else is a bug, printed with its stack.
 */
import { ConfigError } from "../config/index.ts";
import { UsageError } from "./context.ts";
import { errorText } from "../observability/log.ts";

type Command = { help: string; run(argv: string[]): Promise<number> };

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: () => import("./serve.ts"),
  migrate: () => import("./migrate.ts"),
  account: () => import("./account.ts"),
  domain: () => import("./domain.ts"),
  ingest: () => import("./ingest.ts"),
  import: () => import("./import.ts"),
  expire: () => import("./expire.ts"),
  healthcheck: () => import("./healthcheck.ts"),
  version: () => import("./version.ts"),
  token: () => import("./token.ts"),
};

export const USAGE = `usage: quarantined <command> [options]

commands:
  serve         run the IMAP, HTTP and LMTP listeners
  migrate       create or upgrade the database
  account       add, passwd, alias, list, remove logins
  domain        add, set, list, remove domains
  ingest        quarantine one message
  import        import a Maildir, mbox or directory of .eml files
  expire        remove messages past their retention
  healthcheck   probe a running server's /readyz
  token         add, list, remove admin API tokens
  version       print the version

Run "quarantined <command> --help" for a command's options.`;

export function registerCommand(name: string, load: () => Promise<Command>): void {
  COMMANDS[name] = load;
}

export async function main(argv: string[]): Promise<number> {
  // Nothing quarantined writes (database, certificate key, imports) is for other users.
  process.umask(0o077);
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  if (name === "--version") return (await import("./version.ts")).run();
  const load = COMMANDS[name];
  if (!load) {
    console.error(`quarantined: unknown command ${JSON.stringify(name)}; run "quarantined --help"`);
    return 2;
  }
  try {
    const cmd = await load();
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError || e instanceof ConfigError) {
      console.error(`quarantined ${name}: ${e.message}`);
      return 2;
    }
    console.error(`quarantined ${name}: ${errorText(e, { stack: true })}`);
    return 1;
  }
}
