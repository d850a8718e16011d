/**
 * The admin API under /api/v1. Every route is declared with its schemas (router.ts); the
 * bearer token's scope becomes a quarantine `Scope`, and every read and action goes through
 * the scoped query layer, so a domain token never sees another domain's messages (a row of
 * another tenant is a 404, exactly like a row that does not exist). Named resources outside
 * the token's domain (a domain, a recipient) are a 403, decided from the name alone; an
 * existing account is authorised on its stored kind (an admin login that happens to look like
 * a domain name is still an admin account: admin tokens only).
 */
import type { Hono } from "hono";
import type { CredentialCache } from "../auth/credential-cache.ts";
import {
  AccountError,
  accountDomain,
  addAccount,
  addDomain,
  getAccount,
  getDomain,
  inferKind,
  listAccounts,
  listDomains,
  randomPassword,
  removeAccount,
  removeDomain,
  setPassword,
  updateDomain,
} from "../quarantine/accounts.ts";
import { ActionError, release, remove, type Actor, type DeliverySetup, type ReleaseKind } from "../quarantine/actions.ts";
import { IngestError, ingestOne } from "../quarantine/ingest.ts";
import { Mailbox } from "../quarantine/mailbox.ts";
import {
  appendAudit,
  decodeCursor,
  getMessageMeta,
  matchingIds,
  outboxStatus,
  queryAudit,
  searchQuarantine,
  trainingStatus,
  type QuarantineFilter,
} from "../quarantine/query.ts";
import { domainOf } from "../quarantine/scope.ts";
import type { Store } from "../storage/db.ts";
import { buildOpenApi } from "./openapi.ts";
import { HttpProblem } from "./problem.ts";
import { ApiRouter, readBody, type ApiContext, type ApiEnv } from "./router.ts";
import * as S from "./schemas.ts";
import { verifyToken, type TokenPrincipal } from "./tokens.ts";

export interface ApiDeps {
  store: Store;
  version: string;
  defaultRetentionDays: number;
  /** largest message POST /messages accepts */
  maxIngestBytes: number;
  reportsPerHourPerTenant?: number;
  credentials?: CredentialCache;
  /** release delivery as configured (a release with nowhere to go is refused); absent: not checked */
  delivery?: DeliverySetup;
}

export const API_BASE = "/api/v1";

function clientAddr(c: ApiContext): string | null {
  const info = (c.env as { remoteAddr?: { address?: string; hostname?: string } } | undefined)?.remoteAddr;
  return info?.address ?? info?.hostname ?? null;
}

function principal(c: ApiContext): TokenPrincipal {
  return c.get("principal");
}

function requireAdmin(c: ApiContext): void {
  if (principal(c).tokenScope !== "admin") throw new HttpProblem(403, "this needs an admin-scoped token");
}

function requireDomain(c: ApiContext, domain: string): void {
  const t = principal(c).tokenScope;
  if (t !== "admin" && t !== domain.toLowerCase()) throw new HttpProblem(403, `the token is scoped to ${t}`);
}

/** An account (stored or about to be created) may be managed by this token: admin accounts by admin tokens only. */
function requireAccountInScope(c: ApiContext, acct: { kind: "user" | "domain" | "admin"; login: string }): void {
  const d = accountDomain({ kind: acct.kind, login: acct.login.trim().toLowerCase() });
  if (d === null) requireAdmin(c);
  else requireDomain(c, d);
}

/**
 * The stored account a request names, after checking the token may manage it. Authorisation
 * follows the row's kind, never the login's shape. A login with no row is a 404 for a token
 * whose domain it would belong to and a 403 otherwise, so a domain token learns nothing about
 * other tenants' logins.
 */
async function accountInScope(c: ApiContext, store: Store, login: string) {
  const a = await getAccount(store, login);
  if (a) {
    requireAccountInScope(c, a);
    return a;
  }
  if (principal(c).tokenScope !== "admin") {
    const l = login.trim().toLowerCase();
    requireDomain(c, l.includes("@") ? domainOf(l) : l);
  }
  throw new HttpProblem(404, "no such account");
}

function accountProblem(e: unknown): never {
  if (e instanceof AccountError) {
    throw new HttpProblem(e.code === "exists" ? 409 : e.code === "not-found" ? 404 : /still has accounts/.test(e.message) ? 409 : 422, e.message);
  }
  throw e;
}

function actor(c: ApiContext): Actor {
  return { scope: principal(c).scope, clientAddr: clientAddr(c), via: "api" };
}

function parseOptions(s: string): Record<string, unknown> {
  try {
    const o = JSON.parse(s);
    return o && typeof o === "object" && !Array.isArray(o) ? o : {};
  } catch {
    return {};
  }
}

/** A domain as JSON; a domain token never sees the per-domain SMTP password an operator set. */
function domainJson(d: { name: string; retentionDays: number | null; route: string | null; options: string; createdAt: number }, tokenScope = "admin") {
  const options = parseOptions(d.options);
  const smtp = options.smtp as Record<string, unknown> | undefined;
  if (tokenScope !== "admin" && smtp && typeof smtp === "object" && "password" in smtp) options.smtp = { ...smtp, password: "<redacted>" };
  return { name: d.name, retentionDays: d.retentionDays, route: d.route, options, createdAt: new Date(d.createdAt).toISOString() };
}

/**
 * Fields of a domain change only an operator may make: the route (where the server connects:
 * a tenant could point it at any host:port and read the outcome in /outbox) and the option
 * keys holding connection settings and server-side file paths (options.smtp: a CA file the
 * server reads, TLS policy, credentials).
 */
function operatorOnlyFields(body: { route?: unknown; options?: Record<string, unknown> }): string[] {
  const out: string[] = [];
  if (body.route !== undefined) out.push("route");
  for (const k of S.OPERATOR_ONLY_OPTIONS) {
    const x = body.options?.[k];
    if (x === undefined) continue;
    const sub = x && typeof x === "object" ? Object.keys(x) : [];
    if (sub.length) for (const f of sub) out.push(`options.${k}.${f}`);
    else out.push(`options.${k}`);
  }
  return out;
}

function filterFromQuery(q: Partial<Record<keyof QuarantineFilter, unknown>>): QuarantineFilter {
  const f: QuarantineFilter = {};
  for (const k of ["recipient", "domain", "sender", "subject", "reason", "scoreMin", "scoreMax", "since", "until", "state", "direction"] as const) {
    if (q[k] !== undefined) (f as Record<string, unknown>)[k] = q[k];
  }
  return f;
}

/** A filter may not name a recipient or domain outside the token's domain. */
function checkFilterScope(c: ApiContext, f: QuarantineFilter): void {
  if (f.domain) requireDomain(c, f.domain);
  if (f.recipient) requireDomain(c, domainOf(f.recipient.toLowerCase()));
}

/** An action's refusal as problem JSON: over the report limit 429, release not set up 409; anything else as it is. */
function actionProblem(e: unknown): unknown {
  if (e instanceof ActionError && e.code === "LIMIT") return new HttpProblem(429, e.message);
  if (e instanceof ActionError && e.code === "UNAVAILABLE") return new HttpProblem(409, e.message);
  return e;
}

export function mountApi(app: Hono<ApiEnv>, deps: ApiDeps): ApiRouter {
  const { store } = deps;
  const mailbox = new Mailbox(store);
  const limits = deps.reportsPerHourPerTenant ? { reportsPerHourPerTenant: deps.reportsPerHourPerTenant } : undefined;

  const r = new ApiRouter(app, API_BASE, async (c) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    const challenge = { "WWW-Authenticate": `Bearer realm="quarantined"${h ? ', error="invalid_token"' : ""}` };
    if (!m) throw new HttpProblem(401, h ? "malformed Authorization header" : "a bearer token is required", {}, challenge);
    const p = await verifyToken(store, m[1]);
    if (!p) throw new HttpProblem(401, "unknown or revoked token", {}, challenge);
    c.set("principal", p);
  });

  /* ---------- document ---------- */
  let doc: unknown;
  r.route(
    { method: "get", path: "/openapi.json", operationId: "openapi", summary: "This document", tags: ["meta"], auth: false, responses: { 200: { description: "OpenAPI 3.1 document", contentType: "application/json" } } },
    (c) => c.json((doc ??= buildOpenApi(r.operations, { version: deps.version }))),
  );
  r.route(
    { method: "get", path: "/whoami", operationId: "whoami", summary: "The token's name and scope", tags: ["meta"], responses: { 200: { description: "token" } } },
    (c) => c.json({ name: principal(c).name, scope: principal(c).tokenScope }),
  );

  /* ---------- domains ---------- */
  r.route(
    { method: "get", path: "/domains", operationId: "listDomains", summary: "List domains (a domain token sees its own)", tags: ["domains"], responses: { 200: { description: "domains", schema: S.domainOut } } },
    async (c) => {
      const t = principal(c).tokenScope;
      const rows = (await listDomains(store)).filter((d) => t === "admin" || d.name === t);
      return c.json({ items: rows.map((d) => domainJson(d, t)) });
    },
  );
  r.route(
    { method: "post", path: "/domains", operationId: "createDomain", summary: "Add a domain (admin)", tags: ["domains"], body: S.domainCreate, responses: { 201: { description: "created", schema: S.domainOut }, 409: { description: "exists" } } },
    async (c, { body }) => {
      requireAdmin(c);
      const row = await addDomain(store, body).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "domain.add", detail: { domain: row.name } });
      return c.json(domainJson(row), 201);
    },
  );
  r.route(
    { method: "get", path: "/domains/:name", operationId: "getDomain", summary: "One domain", tags: ["domains"], params: S.domainParams, responses: { 200: { description: "domain", schema: S.domainOut }, 404: { description: "no such domain" } } },
    async (c, { params }) => {
      requireDomain(c, params.name);
      const row = await getDomain(store, params.name);
      if (!row) throw new HttpProblem(404, `no domain ${params.name.toLowerCase()}`);
      return c.json(domainJson(row, principal(c).tokenScope));
    },
  );
  r.route(
    { method: "patch", path: "/domains/:name", operationId: "updateDomain", summary: "Change retention, route or options (route and options.smtp: admin tokens only)", tags: ["domains"], params: S.domainParams, body: S.domainPatch, responses: { 200: { description: "domain", schema: S.domainOut }, 403: { description: "another domain, or a field only an admin-scoped token may set" }, 404: { description: "no such domain" } } },
    async (c, { params, body }) => {
      requireDomain(c, params.name);
      if (Object.keys(body).length === 0) throw new HttpProblem(422, "nothing to change: give retentionDays, route or options");
      const tokenScope = principal(c).tokenScope;
      const patch: { retentionDays?: number | null; route?: string | null; options?: Record<string, unknown> } = { ...body };
      if (tokenScope !== "admin") {
        const denied = operatorOnlyFields(body);
        if (denied.length) {
          const message = "only an admin-scoped (operator) token may set this";
          throw new HttpProblem(403, `body field "${denied[0]}": ${message}`, { errors: denied.map((path) => ({ path, in: "body", message })) });
        }
        if (body.options) {
          // A domain token replaces its own options but keeps the operator's settings.
          const stored = await getDomain(store, params.name);
          if (!stored) throw new HttpProblem(404, `no domain ${params.name.toLowerCase()}`);
          const kept = parseOptions(stored.options);
          patch.options = { ...body.options };
          for (const k of S.OPERATOR_ONLY_OPTIONS) if (kept[k] !== undefined) patch.options[k] = kept[k];
        }
      }
      const row = await updateDomain(store, params.name, patch, deps.defaultRetentionDays).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "domain.update", detail: { domain: row.name, fields: Object.keys(body) } });
      return c.json(domainJson(row, tokenScope));
    },
  );
  r.route(
    { method: "delete", path: "/domains/:name", operationId: "deleteDomain", summary: "Remove a domain without accounts (admin)", tags: ["domains"], params: S.domainParams, responses: { 204: { description: "removed" }, 404: { description: "no such domain" }, 409: { description: "the domain still has accounts" } } },
    async (c, { params }) => {
      requireAdmin(c);
      await removeDomain(store, params.name).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "domain.remove", detail: { domain: params.name.toLowerCase() } });
      return c.body(null, 204);
    },
  );

  /* ---------- accounts ---------- */
  const accountJson = (a: { id: number; kind: string; login: string; disabled?: boolean; createdAt: number }) => ({
    id: a.id,
    kind: a.kind,
    login: a.login,
    ...(a.disabled !== undefined ? { disabled: a.disabled } : {}),
    createdAt: new Date(a.createdAt).toISOString(),
  });
  r.route(
    { method: "get", path: "/accounts", operationId: "listAccounts", summary: "List accounts (a domain token sees its domain's)", tags: ["accounts"], query: S.accountListQuery, responses: { 200: { description: "accounts" } } },
    async (c, { query }) => {
      const t = principal(c).tokenScope;
      if (query.domain) requireDomain(c, query.domain);
      if (query.kind === "admin") requireAdmin(c);
      const rows = await listAccounts(store, { kind: query.kind, domain: query.domain ?? (t === "admin" ? undefined : t) });
      return c.json({ items: rows.filter((a) => t === "admin" || a.kind !== "admin").map(accountJson) });
    },
  );
  r.route(
    { method: "post", path: "/accounts", operationId: "createAccount", summary: "Add a login (user: an address; domain: a domain name; admin)", tags: ["accounts"], body: S.accountCreate, responses: { 201: { description: "created; `password` is present only when it was generated", schema: S.accountOut }, 409: { description: "exists" }, 422: { description: "the login does not fit its kind" } } },
    async (c, { body }) => {
      const kind = body.kind ?? inferKind(body.login);
      requireAccountInScope(c, { kind, login: body.login });
      const generated = body.password ? undefined : randomPassword();
      const row = await addAccount(store, { login: body.login, kind, password: body.password ?? generated! }).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "account.add", detail: { login: row.login, kind: row.kind, domain: accountDomain(row) } });
      return c.json({ ...accountJson(row), ...(generated ? { password: generated } : {}) }, 201);
    },
  );
  r.route(
    { method: "get", path: "/accounts/:login", operationId: "getAccount", summary: "One account", tags: ["accounts"], params: S.loginParams, responses: { 200: { description: "account", schema: S.accountOut }, 404: { description: "no such account" } } },
    async (c, { params }) => {
      return c.json(accountJson(await accountInScope(c, store, params.login)));
    },
  );
  r.route(
    { method: "delete", path: "/accounts/:login", operationId: "deleteAccount", summary: "Remove an account", tags: ["accounts"], params: S.loginParams, responses: { 204: { description: "removed" }, 404: { description: "no such account" } } },
    async (c, { params }) => {
      const a = await accountInScope(c, store, params.login);
      await removeAccount(store, a.login, deps.credentials).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "account.remove", detail: { login: a.login, kind: a.kind, domain: accountDomain(a) } });
      return c.body(null, 204);
    },
  );
  r.route(
    { method: "post", path: "/accounts/:login/password", operationId: "setPassword", summary: "Set or reset (generate) a password", tags: ["accounts"], params: S.loginParams, body: S.passwordBody, responses: { 200: { description: "changed; `password` only when generated" }, 404: { description: "no such account" } } },
    async (c, { params, body }) => {
      const a = await accountInScope(c, store, params.login);
      const generated = body.password ? undefined : randomPassword();
      await setPassword(store, a.login, body.password ?? generated!, deps.credentials).catch(accountProblem);
      await appendAudit(store, { actor: principal(c).scope.login, actorKind: "api", clientAddr: clientAddr(c), action: "account.password", detail: { login: a.login, kind: a.kind, domain: accountDomain(a), generated: !!generated } });
      return c.json({ login: a.login, changed: true, ...(generated ? { password: generated } : {}) });
    },
  );

  /* ---------- quarantine ---------- */
  r.route(
    { method: "get", path: "/messages", operationId: "searchMessages", summary: "List and search the quarantine, newest first, cursor-paginated", tags: ["quarantine"], query: S.messageListQuery, responses: { 200: { description: "a page", schema: S.messagePage } } },
    async (c, { query }) => {
      const f = filterFromQuery(query);
      checkFilterScope(c, f);
      const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
      if (query.cursor && !cursor) throw new HttpProblem(400, 'query field "cursor": not a cursor of this API', { errors: [{ path: "cursor", in: "query", message: "not a cursor of this API" }] });
      return c.json(await searchQuarantine(store, principal(c).scope, f, { limit: query.limit ?? 50, cursor: cursor ?? undefined, order: query.order }));
    },
  );
  r.route(
    {
      method: "post",
      path: "/messages",
      operationId: "ingestMessage",
      summary: "Quarantine a message (raw RFC 5322 bytes in the body)",
      tags: ["quarantine"],
      query: S.ingestQuery,
      rawBody: { contentType: ["message/rfc822", "application/octet-stream"], description: "the message as received" },
      responses: { 201: { description: "stored; one row id per recipient", schema: S.ingestResult }, 413: { description: "larger than the configured limit" }, 422: { description: "not a message" } },
    },
    async (c, { query }) => {
      for (const rcpt of query.recipient) requireDomain(c, domainOf(rcpt.toLowerCase()));
      const raw = await readBody(c, deps.maxIngestBytes);
      if (raw.length === 0) throw new HttpProblem(422, "empty message");
      const p = principal(c);
      try {
        const res = await ingestOne(
          store,
          { raw, recipients: query.recipient, sender: query.sender, score: query.score ?? null, reason: query.reason, direction: query.direction, receivedAt: query.receivedAt },
          { defaultRetentionDays: deps.defaultRetentionDays, actor: p.scope.login, actorKind: "api", clientAddr: clientAddr(c) },
        );
        return c.json(res, 201);
      } catch (e) {
        if (e instanceof IngestError) throw new HttpProblem(422, e.message);
        throw e;
      }
    },
  );
  r.route(
    { method: "get", path: "/messages/:id", operationId: "getMessage", summary: "A quarantined message's metadata", tags: ["quarantine"], params: S.idParams, responses: { 200: { description: "metadata", schema: S.messageMeta }, 404: { description: "no such message in the token's scope" } } },
    async (c, { params }) => {
      const m = await getMessageMeta(store, principal(c).scope, params.id);
      if (!m) throw new HttpProblem(404, `no message ${params.id}`);
      return c.json(m);
    },
  );
  r.route(
    { method: "get", path: "/messages/:id/raw", operationId: "downloadMessage", summary: "The message bytes", tags: ["quarantine"], params: S.idParams, responses: { 200: { description: "the message", contentType: "message/rfc822" }, 404: { description: "no such message in the token's scope" } } },
    async (c, { params }) => {
      const bytes = (await mailbox.bytes(principal(c).scope, [params.id])).get(params.id);
      if (!bytes) throw new HttpProblem(404, `no message ${params.id}`);
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "message/rfc822", "Content-Disposition": `attachment; filename="${params.id}.eml"` });
    },
  );

  async function actOne(c: ApiContext, id: number, what: ReleaseKind | "delete"): Promise<Response> {
    const scope = principal(c).scope;
    let done: number[];
    try {
      done = what === "delete" ? await remove(store, actor(c), [id]) : await release(store, actor(c), [id], what, limits, deps.delivery);
    } catch (e) {
      throw actionProblem(e);
    }
    if (done.length === 0) {
      const m = await getMessageMeta(store, scope, id);
      if (!m) throw new HttpProblem(404, `no message ${id}`);
      throw new HttpProblem(409, `message ${id} is not in the quarantine any more (state ${m.state})`, { state: m.state });
    }
    if (what === "delete") return c.body(null, 204);
    return c.json({ id, state: "releasing", trained: what !== "release" }, 202);
  }
  const single = (path: string, what: ReleaseKind | "delete", method: "post" | "delete", operationId: string, summary: string) =>
    r.route(
      {
        method,
        path,
        operationId,
        summary,
        tags: ["quarantine"],
        params: S.idParams,
        responses: {
          ...(what === "delete" ? { 204: { description: "removed from the quarantine" } } : { 202: { description: "queued for delivery (outbox)" } }),
          404: { description: "no such message in the token's scope" },
          409: { description: "the message already left the quarantine, or release is not set up for its domain (no route, no smarthost)" },
          ...(what === "release-train" ? { 429: { description: "training report rate limit" } } : {}),
        } as Record<number, { description: string }>,
      },
      (c, { params }) => actOne(c, params.id, what),
    );
  const bulk = (path: string, what: ReleaseKind | "delete", operationId: string, summary: string) =>
    r.route(
      { method: "post", path, operationId, summary, tags: ["quarantine"], body: S.bulkBody, responses: { 200: { description: "what matched and what was acted on", schema: S.actionResult }, 409: { description: "release is not set up for a recipient domain (no route, no smarthost)" }, 422: { description: "an empty filter" } } },
      async (c, { body }) => {
        const f: QuarantineFilter = { ...body.filter, state: "caught", ids: body.ids };
        checkFilterScope(c, f);
        if (!body.ids && Object.keys(body.filter).length === 0) throw new HttpProblem(422, "refusing an empty filter: name ids or at least one filter field");
        const { ids, truncated } = await matchingIds(store, principal(c).scope, f, body.max);
        if (body.dryRun) return c.json({ matched: ids.length, acted: [], truncated, dryRun: true });
        let acted: number[];
        try {
          acted = what === "delete" ? await remove(store, actor(c), ids) : await release(store, actor(c), ids, what, limits, deps.delivery);
        } catch (e) {
          throw actionProblem(e);
        }
        return c.json({ matched: ids.length, acted, truncated });
      },
    );
  bulk("/messages/bulk/release", "release", "bulkRelease", "Release every Caught message matching a filter (or ids)");
  bulk("/messages/bulk/release-and-train", "release-train", "bulkReleaseAndTrain", "Release and train every message matching a filter");
  bulk("/messages/bulk/delete", "delete", "bulkDelete", "Remove every Caught message matching a filter (or ids)");

  single("/messages/:id/release", "release", "post", "releaseMessage", "Release to the recipient");
  single("/messages/:id/release-and-train", "release-train", "post", "releaseAndTrain", "Release and report as ham (false positive)");
  single("/messages/:id", "delete", "delete", "deleteMessage", "Remove from the quarantine");

  /* ---------- queues and audit ---------- */
  r.route(
    { method: "get", path: "/outbox", operationId: "outbox", summary: "Release queue: counts by state, oldest pending age, recent rows", tags: ["queues"], query: S.outboxQuery, responses: { 200: { description: "outbox", schema: S.queuePage } } },
    async (c, { query }) => c.json(await outboxStatus(store, principal(c).scope, { state: query.state, limit: query.limit ?? 50, beforeId: query.cursor })),
  );
  r.route(
    { method: "get", path: "/training-reports", operationId: "trainingReports", summary: "Training reports: counts by state, oldest pending age, recent rows", tags: ["queues"], query: S.trainingQuery, responses: { 200: { description: "reports", schema: S.queuePage } } },
    async (c, { query }) => c.json(await trainingStatus(store, principal(c).scope, { state: query.state, kind: query.kind, limit: query.limit ?? 50, beforeId: query.cursor })),
  );
  r.route(
    { method: "get", path: "/audit", operationId: "audit", summary: "The audit log, newest first", tags: ["audit"], query: S.auditQuery, responses: { 200: { description: "entries", schema: S.auditPage } } },
    async (c, { query }) =>
      c.json(await queryAudit(store, principal(c).scope, { action: query.action, actor: query.actor, messageId: query.messageId, since: query.since, until: query.until, beforeId: query.cursor }, query.limit ?? 100)),
  );

  return r;
}
