import { configFrom, parse, print } from "./context.ts";

export const help = `quarantined healthcheck [--url URL] [--config FILE] [--http-port N]

Asks the running server's /readyz (default http://127.0.0.1:<http port>/readyz, or the ops
listener's port when http.ops is enabled) and exits 0 when it is ready, 1 when not. For
container HEALTHCHECKs: no curl needed.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, { url: { type: "string" }, "http-port": { type: "string" }, timeout: { type: "string" } }, false);
  if (values.help) return print(help), 0;
  let url = values.url;
  if (!url) {
    const config = configFrom(values);
    // /readyz lives on the ops listener when that is enabled (and only there)
    const ops = config.http.ops.enabled;
    const host = (ops ? config.http.ops.host : undefined) ?? config.http.host ?? config.host;
    const h = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
    url = `http://${h}:${ops ? config.http.ops.port : config.http.port}/readyz`;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Number(values.timeout ?? 5) * 1000) });
    const body = await res.text();
    print(`${res.status} ${body.trim().slice(0, 300)}`);
    return res.status === 200 ? 0 : 1;
  } catch (e) {
    print(`unhealthy: ${url}: ${(e as Error).message}`);
    return 1;
  }
}
