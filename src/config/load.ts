/**
 * Layered configuration: defaults < JSON file (--config) < QUARANTINED_* environment < flags.
 * Each layer is a partial object; they are deep-merged and validated by one valibot schema.
 * A bad or unknown key raises ConfigError with one line naming the key and its source.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { configSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {}

type Layer = { source: string; values: Record<string, unknown> };

/** Environment variables and the config path each one sets. "off" as a port turns a listener off. */
const ENV_KEYS: Record<string, { path: string; kind: "string" | "port" | "int" | "bool" }> = {
  QUARANTINED_DATA_DIR: { path: "dataDir", kind: "string" },
  QUARANTINED_HOST: { path: "host", kind: "string" },
  QUARANTINED_HOSTNAME: { path: "hostname", kind: "string" },
  QUARANTINED_DB_URL: { path: "database.url", kind: "string" },
  QUARANTINED_DB_AUTH_TOKEN: { path: "database.authToken", kind: "string" },
  QUARANTINED_IMAPS_PORT: { path: "imap.implicitTls", kind: "port" },
  QUARANTINED_IMAP_PORT: { path: "imap.starttls", kind: "port" },
  QUARANTINED_HTTP_PORT: { path: "http", kind: "port" },
  QUARANTINED_LMTP_PORT: { path: "lmtp", kind: "port" },
  QUARANTINED_TLS_CERT: { path: "tls.cert", kind: "string" },
  QUARANTINED_TLS_KEY: { path: "tls.key", kind: "string" },
  QUARANTINED_ADMIN_PASSWORD: { path: "admin.password", kind: "string" },
  QUARANTINED_ADMIN_LOGIN: { path: "admin.login", kind: "string" },
  QUARANTINED_RETENTION_DAYS: { path: "retention.defaultDays", kind: "int" },
  QUARANTINED_LOG_LEVEL: { path: "log.level", kind: "string" },
};
/** Variables read elsewhere (not config keys) that must not be reported as unknown. */
const ENV_IGNORED = /^QUARANTINED_(TEST_|CONFIG$)/;
/**
 * What Kubernetes puts in every pod of a namespace with a Service named "quarantined"
 * (QUARANTINED_SERVICE_HOST, QUARANTINED_PORT_993_TCP_ADDR, ...): not ours, ignored silently.
 */
const ENV_KUBERNETES = /^QUARANTINED_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

/** Flags and the env twin they override; `--config FILE` is handled by the caller. */
export const FLAG_KEYS: Record<string, string> = {
  "data-dir": "QUARANTINED_DATA_DIR",
  db: "QUARANTINED_DB_URL",
  host: "QUARANTINED_HOST",
  hostname: "QUARANTINED_HOSTNAME",
  "imaps-port": "QUARANTINED_IMAPS_PORT",
  "imap-port": "QUARANTINED_IMAP_PORT",
  "http-port": "QUARANTINED_HTTP_PORT",
  "lmtp-port": "QUARANTINED_LMTP_PORT",
};

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function convert(name: string, raw: string, kind: "string" | "port" | "int" | "bool", path: string, into: Record<string, unknown>): void {
  if (kind === "string") return setPath(into, path, raw);
  if (kind === "bool") {
    if (!/^(true|false|1|0|yes|no|on|off)$/i.test(raw)) throw new ConfigError(`${name}: expected true or false, got ${JSON.stringify(raw)}`);
    return setPath(into, path, /^(true|1|yes|on)$/i.test(raw));
  }
  if (kind === "port" && /^(off|false|no|disabled)$/i.test(raw)) return setPath(into, `${path}.enabled`, false);
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name}: expected ${kind === "port" ? "a port number or \"off\"" : "a whole number"}, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (kind === "port") {
    if (n > 65535) throw new ConfigError(`${name}: expected a port number from 0 to 65535, got ${raw}`);
    setPath(into, `${path}.port`, n);
    setPath(into, `${path}.enabled`, true);
    return;
  }
  setPath(into, path, n);
}

/**
 * An unknown QUARANTINED_* variable is a warning, not an error: the environment is shared with
 * whatever else runs there (unknown keys in a config file, which is ours alone, stay fatal).
 */
export function envLayer(env: Record<string, string | undefined>, warn: (line: string) => void = () => {}): Layer {
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("QUARANTINED_") || raw === undefined || ENV_IGNORED.test(name) || ENV_KUBERNETES.test(name)) continue;
    const key = ENV_KEYS[name];
    if (!key) {
      warn(`${name}: unknown environment variable, ignored (known: ${Object.keys(ENV_KEYS).join(", ")})`);
      continue;
    }
    convert(name, raw, key.kind, key.path, values);
  }
  return { source: "environment", values };
}

export function flagLayer(flags: Record<string, string | undefined>): Layer {
  const values: Record<string, unknown> = {};
  for (const [flag, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const envName = FLAG_KEYS[flag];
    if (!envName) continue;
    const key = ENV_KEYS[envName];
    convert(`--${flag}`, raw, key.kind, key.path, values);
  }
  return { source: "flags", values };
}

export function fileLayer(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`--config ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const values = JSON.parse(text);
    if (typeof values !== "object" || values === null || Array.isArray(values)) throw new Error("expected a JSON object");
    return { source: path, values };
  } catch (e) {
    throw new ConfigError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
}

function merge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, val] of Object.entries(from)) {
    const cur = into[k];
    if (val && typeof val === "object" && !Array.isArray(val) && cur && typeof cur === "object" && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, val as Record<string, unknown>);
    } else into[k] = val;
  }
}

function hasPath(obj: Record<string, unknown>, path: (string | number)[]): boolean {
  let cur: unknown = obj;
  for (const p of path) {
    if (!cur || typeof cur !== "object" || !(p in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[p as string];
  }
  return true;
}

/** Validates merged layers; the error names the key, what was expected and which layer set it. */
export function resolveConfig(layers: Layer[]): Config {
  const merged: Record<string, unknown> = {};
  for (const l of layers) merge(merged, structuredClone(l.values));
  const result = v.safeParse(configSchema, merged);
  if (result.success) return result.output;
  const issue = result.issues[0];
  const path = (issue.path ?? []).map((p) => p.key as string | number);
  const key = path.join(".") || "(top level)";
  // the layer that set the key, or for a missing key the one that set its section
  let from: string | undefined;
  for (let n = path.length; n > 0 && !from; n--) from = [...layers].reverse().find((l) => hasPath(l.values, path.slice(0, n)))?.source;
  const what = issue.kind === "schema" && issue.type === "strict_object" && issue.expected === "never"
    ? "unknown key"
    : SECRET_KEYS.test(String(path.at(-1) ?? ""))
      ? issue.message.replace(/ but received .*$/s, "") // never echo what was given for a secret
      : issue.message;
  throw new ConfigError(`${key}: ${what}${from ? ` (from ${from})` : ""}`);
}

export interface LoadOptions {
  configFile?: string;
  flags?: Record<string, string | undefined>;
  env?: Record<string, string | undefined>;
  /** where warnings go (default: one line on stderr) */
  warn?: (line: string) => void;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const layers: Layer[] = [];
  const file = opts.configFile ?? env.QUARANTINED_CONFIG;
  if (file) layers.push(fileLayer(file));
  layers.push(envLayer(env, opts.warn ?? ((line) => process.stderr.write(`quarantined: warning: ${line}\n`))));
  layers.push(flagLayer(opts.flags ?? {}));
  return resolveConfig(layers);
}

const SECRET_KEYS = /password|authToken|secret|token/i;

/** The effective config with secrets masked, for --print-config and logs. */
export function maskSecrets(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((x) => maskSecrets(x));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, maskSecrets(x, k)]));
  }
  if (typeof value === "string" && SECRET_KEYS.test(key)) return "********";
  return value;
}
