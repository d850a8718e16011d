export { configSchema, type Config, type SmtpRoute } from "./schema.ts";
export { ConfigError, loadConfig, maskSecrets, resolveConfig, FLAG_KEYS } from "./load.ts";
