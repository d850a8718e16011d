import { configFrom, openFromConfig, parse, print } from "./context.ts";

export const help = `quarantined migrate [--db URL | --data-dir DIR]

Creates or upgrades the database schema (serve does this at start too).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {}, false);
  if (values.help) return print(help), 0;
  const store = await openFromConfig(configFrom(values), { create: true });
  store.close();
  print(`database ${store.url.replace(/\?.*$/, "")} is up to date`);
  return 0;
}
