/**
 * The operator's certificate (config tls.cert / tls.key), checked before the server writes
 * anything: a half-configured pair, or a file that is missing, unreadable, not PEM or not a
 * match, stops the start with one line naming the config key.
 */
import { resolve } from "node:path";
import { ConfigError } from "../config/index.ts";
import { readTlsPair, TlsFileError } from "./context.ts";
import type { TlsFiles } from "./selfsigned.ts";

/** The configured pair, checked; undefined when none is configured (the self-signed one is used). */
export function configuredTls(cfg: { cert?: string; key?: string }): TlsFiles | undefined {
  if (!cfg.cert && !cfg.key) return undefined;
  if (!cfg.key) throw new ConfigError("tls.key: required when tls.cert is set (QUARANTINED_TLS_KEY)");
  if (!cfg.cert) throw new ConfigError("tls.cert: required when tls.key is set (QUARANTINED_TLS_CERT)");
  const files = { certPath: resolve(cfg.cert), keyPath: resolve(cfg.key) };
  try {
    readTlsPair(files);
  } catch (e) {
    if (e instanceof TlsFileError) throw new ConfigError(`tls.${e.file}: ${e.detail}`);
    throw e;
  }
  return files;
}
