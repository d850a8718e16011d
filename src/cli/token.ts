import { addToken, listTokens, normalizeTokenScope, removeToken, TokenError } from "../http/tokens.ts";
import { configFrom, DATABASE_HELP, openFromConfig, parse, print, requireDomain, UsageError } from "./context.ts";

export const help = `quarantined token add NAME --scope admin|DOMAIN
quarantined token list [--json]
quarantined token remove NAME

Bearer tokens for the admin API (/api/v1). "add" prints the token once; only its SHA-256
is stored. --scope admin sees every domain; --scope example.com sees that domain only.

${DATABASE_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { scope: { type: "string" }, json: { type: "boolean" } });
  const [sub, name] = positionals;
  if (values.help || !sub) return print(help), values.help ? 0 : 2;
  const store = await openFromConfig(configFrom(values));
  try {
    switch (sub) {
      case "add": {
        if (!name) throw new UsageError("add: NAME is required");
        if (!values.scope) throw new UsageError("add: --scope admin|DOMAIN is required");
        const scope = normalizeTokenScope(values.scope);
        if (scope !== "admin") await requireDomain(store, scope);
        const { token, row } = await addToken(store, name, scope);
        process.stderr.write(`added token ${row.name} (scope ${row.scope}); it is shown only now:\n`);
        print(token);
        return 0;
      }
      case "list": {
        const rows = await listTokens(store);
        if (values.json) print(JSON.stringify(rows));
        else
          for (const r of rows)
            print(`${r.name}\tscope=${r.scope}\tcreated=${new Date(r.createdAt).toISOString()}\tlast-used=${r.lastUsedAt ? new Date(r.lastUsedAt).toISOString() : "never"}`);
        return 0;
      }
      case "remove": {
        if (!name) throw new UsageError("remove: NAME is required");
        await removeToken(store, name);
        print(`removed token ${name}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (add, list, remove)`);
    }
  } catch (e) {
    if (e instanceof TokenError) throw new UsageError(e.message);
    throw e;
  } finally {
    store.close();
  }
}
