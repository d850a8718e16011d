import { maskSecrets } from "../config/index.ts";
import { log, setLogLevel } from "../observability/log.ts";
import { installCrashGuard } from "../runtime/crash-guard.ts";
import { onSignal } from "../runtime/runtime.ts";
import { startServer } from "../server.ts";
import { configuredTls } from "../tls/index.ts";
import { configFrom, parse, print } from "./context.ts";

export const help = `quarantined serve [--config FILE] [--data-dir DIR] [--db URL] [--host ADDR] [--hostname NAME]
                 [--imaps-port N|off] [--imap-port N|off] [--http-port N|off] [--lmtp-port N|off] [--print-config]

Starts the IMAP listeners (implicit TLS on 993, STARTTLS on 143), the HTTP status/admin API
(8080) and, when given a port, the LMTP listener. Configuration: defaults < JSON file <
QUARANTINED_* environment < flags. --print-config checks the configuration (and the TLS files it
names), shows the effective config (secrets masked) and exits.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      host: { type: "string" },
      hostname: { type: "string" },
      "imaps-port": { type: "string" },
      "imap-port": { type: "string" },
      "http-port": { type: "string" },
      "lmtp-port": { type: "string" },
      "print-config": { type: "boolean" },
    },
    false,
  );
  if (values.help) return print(help), 0;
  const config = configFrom(values);
  if (values["print-config"]) {
    // checks the certificate files too, so a config that cannot start does not pass
    configuredTls(config.tls);
    return print(JSON.stringify(maskSecrets(config), null, 2)), 0;
  }
  setLogLevel(config.log.level);
  // One socket's unhandled error must not end the process and every other session with it.
  installCrashGuard();
  const server = await startServer(config);
  await new Promise<void>((resolveStop) => {
    const stop = (sig: string) => {
      log("info", "server.stopping", { signal: sig });
      server.stop().then(resolveStop, resolveStop);
    };
    onSignal("SIGINT", () => stop("SIGINT"));
    onSignal("SIGTERM", () => stop("SIGTERM"));
  });
  return 0;
}
