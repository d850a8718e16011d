import { addAccount, AccountError, addAlias, getDomain, inferKind, listAccounts, randomPassword, removeAccount, setPassword } from "../quarantine/accounts.ts";
import { domainOf, type AccountKind } from "../quarantine/scope.ts";
import { appendAudit } from "../quarantine/query.ts";
import { configFrom, DATABASE_HELP, openFromConfig, parse, print, readPasswordStdin, UsageError } from "./context.ts";

export const help = `quarantined account add NAME [--kind user|domain|admin] [--password-stdin]
quarantined account passwd NAME --password-stdin
quarantined account alias NAME ADDRESS
quarantined account list [--kind K] [--domain D] [--json]
quarantined account remove NAME

NAME is an email address (user: sees its own quarantine), a domain name (domain admin: sees the
whole domain) or a plain login (admin: sees everything). The kind is inferred from NAME.
A user or domain account adds its domain (as "domain add" would) when there is none yet.
Without --password-stdin, add generates a password and prints it once.

${DATABASE_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    kind: { type: "string" },
    domain: { type: "string" },
    "password-stdin": { type: "boolean" },
    json: { type: "boolean" },
  });
  const [sub, name, extra] = positionals;
  if (values.help || !sub) return print(help), values.help ? 0 : 2;
  if (values.kind && !["user", "domain", "admin"].includes(values.kind)) throw new UsageError(`--kind: expected user, domain or admin, got ${JSON.stringify(values.kind)}`);
  const store = await openFromConfig(configFrom(values));
  try {
    switch (sub) {
      case "add": {
        if (!name) throw new UsageError("add: NAME is required");
        const password = values["password-stdin"] ? await readPasswordStdin() : randomPassword();
        // A user or domain account adds its domain when there is none: say so, so a mistyped
        // domain does not go unnoticed.
        const kind = (values.kind as AccountKind | undefined) ?? inferKind(name);
        const domain = kind === "admin" ? undefined : kind === "user" ? domainOf(name.trim().toLowerCase()) : name.trim().toLowerCase();
        const newDomain = domain !== undefined && !(await getDomain(store, domain));
        const row = await addAccount(store, { login: name, kind, password });
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "account.add", detail: { login: row.login, kind: row.kind } });
        if (newDomain) print(`added domain ${domain} (it had no quarantine yet)`);
        print(`added ${row.kind} account ${row.login}`);
        if (!values["password-stdin"]) print(`password: ${password}`);
        return 0;
      }
      case "passwd": {
        if (!name) throw new UsageError("passwd: NAME is required");
        if (!values["password-stdin"]) throw new UsageError("passwd: give the new password on stdin with --password-stdin");
        await setPassword(store, name, await readPasswordStdin());
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "account.password", detail: { login: name.toLowerCase() } });
        print(`password of ${name.toLowerCase()} changed`);
        return 0;
      }
      case "alias": {
        if (!name || !extra) throw new UsageError("alias: NAME and ADDRESS are required");
        await addAlias(store, name, extra);
        print(`${name.toLowerCase()} now also sees ${extra.toLowerCase()}`);
        return 0;
      }
      case "list": {
        const rows = await listAccounts(store, { kind: values.kind as AccountKind | undefined, domain: values.domain });
        if (values.json) print(JSON.stringify(rows));
        else for (const r of rows) print(`${r.kind.padEnd(7)} ${r.login}${r.disabled ? " (disabled)" : ""}`);
        return 0;
      }
      case "remove": {
        if (!name) throw new UsageError("remove: NAME is required");
        await removeAccount(store, name);
        await appendAudit(store, { actor: "cli", actorKind: "cli", action: "account.remove", detail: { login: name.toLowerCase() } });
        print(`removed ${name.toLowerCase()}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (add, passwd, alias, list, remove)`);
    }
  } catch (e) {
    if (e instanceof AccountError) throw new UsageError(e.message);
    throw e;
  } finally {
    store.close();
  }
}
