import * as v from "valibot";
import { routeString } from "../config/schema.ts";
import { addDomain, AccountError, listDomains, removeDomain, updateDomain } from "../quarantine/accounts.ts";
import { appendAudit } from "../quarantine/query.ts";
import { configFrom, DATABASE_HELP, openFromConfig, parse, print, UsageError } from "./context.ts";

export const help = `quarantined domain add NAME [--retention-days N] [--route HOST:PORT]
quarantined domain set NAME [--retention-days N|default] [--route HOST:PORT|default]
quarantined domain list [--json]
quarantined domain remove NAME

--retention-days: how long quarantined mail is kept (default: the configured retention, 14 days).
--route: where released mail for this domain is delivered (default: the configured smarthost).

${DATABASE_HELP}`;

function retention(s: string | undefined): number | null | undefined {
  if (s === undefined) return undefined;
  if (s === "default") return null;
  if (!/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 3650) throw new UsageError(`--retention-days: expected a whole number from 1 to 3650, got ${JSON.stringify(s)}`);
  return Number(s);
}

function route(s: string | undefined): string | null | undefined {
  if (s === undefined) return undefined;
  if (s === "default") return null;
  const r = v.safeParse(routeString, s);
  if (!r.success) throw new UsageError(`--route: ${r.issues[0].message}, got ${JSON.stringify(s)}`);
  return s;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { "retention-days": { type: "string" }, route: { type: "string" }, json: { type: "boolean" } });
  const [sub, name] = positionals;
  if (values.help || !sub) return print(help), values.help ? 0 : 2;
  const days = retention(values["retention-days"]);
  const rt = route(values.route);
  const config = configFrom(values);
  const store = await openFromConfig(config);
  try {
    switch (sub) {
      case "add": {
        if (!name) throw new UsageError("add: NAME is required");
        const row = await addDomain(store, { name, retentionDays: days ?? null, route: rt ?? null });
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "domain.add", detail: { domain: row.name } });
        print(`added domain ${row.name}`);
        return 0;
      }
      case "set": {
        if (!name) throw new UsageError("set: NAME is required");
        const row = await updateDomain(store, name, { retentionDays: days, route: rt }, config.retention.defaultDays);
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "domain.update", detail: { domain: row.name, retentionDays: row.retentionDays, route: row.route } });
        const smarthost = config.smtp.smarthost;
        const retained = row.retentionDays !== null ? `${row.retentionDays} days` : `${config.retention.defaultDays} days (the default)`;
        const routed = row.route ? `go to ${row.route}` : smarthost ? `go to ${smarthost.host}:${smarthost.port} (the smarthost)` : "have no route (give --route, or configure smtp.smarthost)";
        print(`domain ${row.name}: mail kept ${retained}, releases ${routed}`);
        return 0;
      }
      case "list": {
        const rows = await listDomains(store);
        if (values.json) print(JSON.stringify(rows));
        else for (const r of rows) print(`${r.name}\tretention=${r.retentionDays ?? "default"}\troute=${r.route ?? "default"}`);
        return 0;
      }
      case "remove": {
        if (!name) throw new UsageError("remove: NAME is required");
        await removeDomain(store, name);
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "domain.remove", detail: { domain: name.toLowerCase() } });
        print(`removed domain ${name.toLowerCase()}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (add, set, list, remove)`);
    }
  } catch (e) {
    if (e instanceof AccountError) throw new UsageError(e.message);
    throw e;
  } finally {
    store.close();
  }
}
