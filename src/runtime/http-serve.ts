/**
 * Serving a fetch handler (the Hono app) on Bun or Deno: the one place HTTP serving differs.
 */
export interface HttpHandle {
  port: number;
  stop(): Promise<void>;
}

type Fetch = (req: Request, info?: unknown) => Response | Promise<Response>;

export async function serveHttp(fetch: Fetch, hostname: string, port: number): Promise<HttpHandle> {
  const g = globalThis as unknown as { Bun?: any; Deno?: any };
  if (g.Bun) {
    const server = g.Bun.serve({
      hostname,
      port,
      // the remote address is handed to the app like Deno's info argument
      fetch: (req: Request, srv: any) => fetch(req, { remoteAddr: srv.requestIP(req) }),
      // The app reads every body through readBody() with its own limit (problem JSON 413, the
      // rest unread); Bun's own limit would answer a bare 413 first, so it is out of the way.
      maxRequestBodySize: 2 ** 40,
    });
    return { port: server.port, stop: async () => void server.stop(true) };
  }
  if (g.Deno) {
    const ac = new AbortController();
    let resolvePort!: (p: number) => void;
    const bound = new Promise<number>((r) => (resolvePort = r));
    const server = g.Deno.serve(
      { hostname, port, signal: ac.signal, onListen: (a: { port: number }) => resolvePort(a.port) },
      (req: Request, info: any) => fetch(req, { remoteAddr: info?.remoteAddr }),
    );
    return { port: await bound, stop: async () => { ac.abort(); await server.finished; } };
  }
  throw new Error("serveHttp: needs Bun or Deno");
}
