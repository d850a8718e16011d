/**
 * The Hono app on the side: health and readiness for load balancers, metrics for scrapers.
 * Admin API, status page and onboarding routes are mounted from their own modules.
 */
import { Hono } from "hono";
import { renderMetrics } from "../observability/metrics.ts";

export interface HttpDeps {
  /** checks for /readyz: name → a promise that resolves true when healthy */
  readiness: Record<string, () => Promise<boolean>>;
  version: string;
  startedAt: number;
  status?: () => Promise<Record<string, unknown>>;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const results: Record<string, string> = {};
    let ok = true;
    await Promise.all(
      Object.entries(deps.readiness).map(async ([name, check]) => {
        const r = await withTimeout(check().catch(() => false), 2000);
        results[name] = r === true ? "ok" : r === "timeout" ? "timeout" : "failed";
        if (r !== true) ok = false;
      }),
    );
    return c.json({ status: ok ? "ready" : "not ready", checks: results }, ok ? 200 : 503);
  });
  app.get("/metrics", (c) => c.body(renderMetrics(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }));
  app.get("/status", async (c) =>
    c.json({ version: deps.version, uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000), ...(deps.status ? await deps.status() : {}) }),
  );
  return app;
}
