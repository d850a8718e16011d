/**
 * Admin API bearer tokens. A token is `qtk_` + 32 random bytes (base64url); only its SHA-256
 * is stored, so the database never holds a usable secret. A token is scoped to the whole
 * installation ("admin") or to one domain; the scope becomes the same `Scope` an IMAP login
 * of that kind gets, and every quarantine query filters by it.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Store } from "../storage/db.ts";
import { isDomainName, type Scope } from "../quarantine/scope.ts";

export const TOKEN_PREFIX = "qtk_";
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export class TokenError extends Error {
  constructor(message: string, readonly code: "invalid" | "exists" | "not-found" = "invalid") {
    super(message);
  }
}

export interface TokenRow {
  id: number;
  name: string;
  scope: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function normalizeTokenScope(scope: string): string {
  const s = scope.trim().toLowerCase();
  if (s === "admin") return s;
  if (!isDomainName(s)) throw new TokenError(`scope: expected "admin" or a domain name, got ${JSON.stringify(scope)}`);
  return s;
}

/** Creates a token and returns it in clear: the only time it is ever seen. */
export async function addToken(store: Store, name: string, scope: string): Promise<{ token: string; row: TokenRow }> {
  if (!NAME.test(name)) throw new TokenError(`name: expected 1-64 letters, digits, . _ - (got ${JSON.stringify(name)})`);
  const s = normalizeTokenScope(scope);
  const existing = await store.client.execute({ sql: "SELECT 1 FROM api_tokens WHERE name = ?", args: [name] });
  if (existing.rows.length) throw new TokenError(`token ${name} exists already`, "exists");
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const now = Date.now();
  const r = await store.client.execute({
    sql: "INSERT INTO api_tokens (name, token_hash, scope, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    args: [name, hashToken(token), s, now],
  });
  return { token, row: { id: Number(r.rows[0].id), name, scope: s, createdAt: now, lastUsedAt: null } };
}

export async function listTokens(store: Store): Promise<TokenRow[]> {
  const r = await store.client.execute("SELECT id, name, scope, created_at, last_used_at FROM api_tokens ORDER BY name");
  return r.rows.map((row) => ({
    id: Number(row.id),
    name: row.name as string,
    scope: row.scope as string,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at == null ? null : Number(row.last_used_at),
  }));
}

export async function removeToken(store: Store, name: string): Promise<void> {
  const r = await store.client.execute({ sql: "DELETE FROM api_tokens WHERE name = ?", args: [name] });
  if (r.rowsAffected === 0) throw new TokenError(`no token ${name}`, "not-found");
}

export interface TokenPrincipal {
  name: string;
  /** "admin" or the domain */
  tokenScope: string;
  scope: Scope;
}

/** The Scope a token acts with: admin → everything, a domain → that domain only. */
export function scopeOfToken(name: string, tokenScope: string): Scope {
  const login = `api:${name}`;
  return tokenScope === "admin" ? { kind: "admin", accountId: 0, login } : { kind: "domain", accountId: 0, login, domain: tokenScope };
}

/** Looks a presented token up by its hash; marks it used at most once a minute. */
export async function verifyToken(store: Store, token: string): Promise<TokenPrincipal | null> {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
  const h = hashToken(token);
  const r = await store.client.execute({ sql: "SELECT name, scope, last_used_at FROM api_tokens WHERE token_hash = ?", args: [h] });
  const row = r.rows[0];
  if (!row) return null;
  const now = Date.now();
  if (row.last_used_at == null || now - Number(row.last_used_at) > 60_000) {
    await store.client.execute({ sql: "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?", args: [now, h] }).catch(() => {});
  }
  const name = row.name as string;
  const tokenScope = row.scope as string;
  return { name, tokenScope, scope: scopeOfToken(name, tokenScope) };
}
