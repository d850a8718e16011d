/**
 * The Hono app on the side: health and readiness for load balancers, metrics for scrapers,
 * the status page and JSON status, client onboarding, and the admin API under /api/v1.
 * Every error is application/problem+json (problem.ts). Parts that need the database or the
 * configuration are mounted only when those are given, so a bare app still serves /healthz.
 *
 * The operator endpoints (/healthz, /readyz, /metrics, /status) can be moved to a listener of
 * their own (config http.ops): then createHttpApp({ ..., separateOps: true }) leaves them out
 * and createOpsApp() serves only them. See docs/http.md.
 */
import { Hono } from "hono";
import type { CredentialCache } from "../auth/credential-cache.ts";
import type { Config } from "../config/index.ts";
import { errorText, log } from "../observability/log.ts";
import { renderMetrics } from "../observability/metrics.ts";
import { dailyActivity, overview } from "../quarantine/query.ts";
import { isDatabaseBusy, type Store } from "../storage/db.ts";
import { mountApi } from "./api.ts";
import { httpMetrics, OpsGauges } from "./gauges.ts";
import { mountOnboarding, type ImapEndpoints } from "./onboarding.ts";
import { HttpProblem, problem } from "./problem.ts";
import type { ApiEnv } from "./router.ts";
import { renderStatusPage, type ListenerInfo } from "./status-page.ts";

export type { ListenerInfo } from "./status-page.ts";

export interface HttpDeps {
  /** checks for /readyz: name → a promise that resolves true when healthy */
  readiness: Record<string, () => Promise<boolean>>;
  version: string;
  startedAt: number;
  status?: () => Promise<Record<string, unknown>>;
  /** the store: enables the database and outbox readiness checks, DB gauges, the admin API and the status page */
  store?: Store;
  config?: Config;
  /** every configured listener and whether it is bound (readiness, status) */
  listeners?: () => ListenerInfo[];
  certificateNotAfter?: () => Date | undefined;
  /** where onboarding points clients; default: config.hostname and the configured IMAP ports */
  imapEndpoints?: () => ImapEndpoints;
  credentials?: CredentialCache;
  /** default config.limits.maxMessageBytes */
  maxIngestBytes?: number;
  /** a pending outbox row due longer than this makes /readyz fail (default 900) */
  outboxOverdueSeconds?: number;
  /** time a readiness check may take (default 2000) */
  checkTimeoutMs?: number;
  /** how long database-backed gauges are cached (default 5000) */
  metricsTtlMs?: number;
  /** the ops endpoints are served by createOpsApp on a listener of their own: leave them off this app */
  separateOps?: boolean;
}

export type HttpApp = Hono<ApiEnv> & { dispose(): void };

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function defaultEndpoints(config: Config): ImapEndpoints {
  return {
    hostname: config.hostname,
    imaps: config.imap.implicitTls.enabled ? config.imap.implicitTls.port : undefined,
    imap: config.imap.starttls.enabled ? config.imap.starttls.port : undefined,
  };
}

/** Seconds a client is told to wait after a 503 for a busy (locked) database. */
const BUSY_RETRY_AFTER_S = 2;

/** An app with the request metrics, the problem+json error handler and 404. */
function baseApp(): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use(async (c, next) => {
    const t0 = performance.now();
    await next();
    const route = c.req.routePath && c.req.routePath !== "/*" ? c.req.routePath : "unmatched";
    httpMetrics.requests.inc({ method: c.req.method, route, status: c.res.status });
    httpMetrics.latency.observe({ route }, (performance.now() - t0) / 1000);
  });

  app.onError((e, c) => {
    if (e instanceof HttpProblem) return problem(c, e.status, e.detail, e.extra, e.headers);
    // errorText never includes a statement's parameters (a password hash, an address, ...).
    if (isDatabaseBusy(e)) {
      log("warn", "http.database_busy", { method: c.req.method, path: c.req.path, error: errorText(e) });
      return problem(c, 503, "the database is busy (another process holds its write lock); retry shortly", {}, { "Retry-After": String(BUSY_RETRY_AFTER_S) });
    }
    log("error", "http.error", { method: c.req.method, path: c.req.path, error: errorText(e) });
    return problem(c, 500, "internal error; see the server log");
  });
  app.notFound((c) => {
    const allow = allowedMethods(app, c.req.path);
    if (allow.length) return problem(c, 405, `${c.req.method} is not supported here; allowed: ${allow.join(", ")}`, {}, { Allow: allow.join(", ") });
    return problem(c, 404, "no such resource");
  });
  return app;
}

/** Hono path patterns ("/messages/:id", "/*") as regular expressions, per pattern. */
const patternCache = new Map<string, RegExp>();
function patternRegex(path: string): RegExp {
  let re = patternCache.get(path);
  if (!re) {
    const body = path
      .split("/")
      .map((seg) => (seg === "*" ? ".*" : seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    patternCache.set(path, (re = new RegExp(`^${body}$`)));
  }
  return re;
}

/**
 * The methods the app serves a path with (for a 405's Allow header): every route whose pattern
 * matches it, leaving out middleware (ALL). GET routes answer HEAD too.
 */
function allowedMethods(app: Hono<ApiEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || methods.has(r.method)) continue;
    if (patternRegex(r.path).test(path)) methods.add(r.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

/** Mounts /healthz, /readyz, /metrics and /status; returns the gauges (to dispose). */
function mountOps(app: Hono<ApiEnv>, deps: HttpDeps): OpsGauges {
  const store = deps.store;
  const overdueMs = (deps.outboxOverdueSeconds ?? 900) * 1000;
  const gauges = new OpsGauges(store, { ttlMs: deps.metricsTtlMs, overdueMs, version: deps.version, startedAt: deps.startedAt });

  /* ---------- health ---------- */
  const checks: Record<string, () => Promise<boolean>> = {};
  if (store) {
    checks.database = async () => (await store.client.execute("SELECT 1 AS one")).rows.length === 1;
    checks.outbox = async () => {
      const now = Date.now();
      const r = await store.client.execute({
        sql: "SELECT count(*) AS n FROM outbox WHERE state = 'pending' AND next_attempt_at < ? AND (lease_until IS NULL OR lease_until < ?)",
        args: [now - overdueMs, now],
      });
      return Number(r.rows[0].n) === 0;
    };
  }
  if (deps.listeners) checks.listeners = async () => deps.listeners!().every((l) => l.bound);
  Object.assign(checks, deps.readiness);

  app.get("/healthz", (c) => c.text("ok"));
  app.get("/readyz", async (c) => {
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        const r = await withTimeout(
          check().catch(() => false),
          deps.checkTimeoutMs ?? 2000,
        );
        results[name] = r === true ? "ok" : r === "timeout" ? "timeout" : "failed";
      }),
    );
    const failed = Object.keys(results).filter((k) => results[k] !== "ok").sort();
    if (failed.length === 0) return c.json({ status: "ready", checks: results });
    return c.body(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503, detail: `not ready: ${failed.map((f) => `${f} ${results[f]}`).join(", ")}`, checks: results, failed }), 503, {
      "Content-Type": "application/problem+json",
      "Cache-Control": "no-store",
    });
  });
  app.get("/metrics", async (c) => {
    await withTimeout(gauges.refresh(), deps.checkTimeoutMs ?? 2000);
    return c.body(renderMetrics(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });

  const listeners = () => deps.listeners?.() ?? [];
  app.get("/status", async (c) => {
    const o = store ? await gauges.refresh() : undefined;
    const counts = o
      ? {
          caught: o.messages.filter((m) => m.state === "caught").reduce((a, m) => a + m.count, 0),
          outboxPending: o.outbox.byState.pending ?? 0,
          trainingPending: o.training.byState.pending ?? 0,
        }
      : undefined;
    return c.json({
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      ...(store ? { database: store.kind } : {}),
      ...(deps.listeners ? { listeners: listeners() } : {}),
      ...(deps.certificateNotAfter?.() ? { certificateNotAfter: deps.certificateNotAfter()!.toISOString() } : {}),
      ...(counts ? { counts, queues: { outbox: o!.outbox, training: o!.training } } : {}),
      ...(deps.status ? await deps.status() : {}),
    });
  });
  return gauges;
}

/** Only the ops endpoints: for the separate ops listener (config http.ops). */
export function createOpsApp(deps: HttpDeps): HttpApp {
  const app = baseApp();
  const gauges = mountOps(app, deps);
  return Object.assign(app, { dispose: () => gauges.dispose() });
}

export function createHttpApp(deps: HttpDeps): HttpApp {
  const app = baseApp();
  const store = deps.store;
  const overdueMs = (deps.outboxOverdueSeconds ?? 900) * 1000;
  // With a separate ops listener the gauges live in the ops app (they are process-wide).
  const gauges = deps.separateOps ? undefined : mountOps(app, deps);
  const listeners = () => deps.listeners?.() ?? [];

  /* ---------- status page ---------- */
  if (store) {
    app.get("/", async (c) => {
      const now = Date.now();
      const [o, days] = await Promise.all([overview(store, overdueMs), dailyActivity(store, 14, now)]);
      return c.html(
        renderStatusPage({
          version: deps.version,
          hostname: deps.config?.hostname ?? new URL(c.req.url).hostname,
          uptimeSeconds: Math.round((now - deps.startedAt) / 1000),
          database: store.kind,
          listeners: listeners(),
          certificateNotAfter: deps.certificateNotAfter?.(),
          overview: o,
          days,
          now,
        }),
      );
    });
  }

  /* ---------- onboarding ---------- */
  const endpoints = deps.imapEndpoints ?? (deps.config ? () => defaultEndpoints(deps.config!) : undefined);
  if (endpoints) mountOnboarding(app, endpoints);

  /* ---------- admin API ---------- */
  if (store) {
    mountApi(app, {
      store,
      version: deps.version,
      defaultRetentionDays: deps.config?.retention.defaultDays ?? 14,
      maxIngestBytes: deps.maxIngestBytes ?? deps.config?.limits.maxMessageBytes ?? 50 * 1024 * 1024,
      reportsPerHourPerTenant: deps.config?.training.reportsPerHourPerTenant,
      credentials: deps.credentials,
      delivery: deps.config ? { smarthost: !!deps.config.smtp.smarthost } : undefined,
    });
  }

  return Object.assign(app, { dispose: () => gauges?.dispose() });
}
