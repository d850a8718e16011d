/**
 * Who sees what. Every query that touches quarantine rows takes a Scope and adds its filter
 * in SQL, so a row outside the scope is indistinguishable from a row that does not exist.
 */
export type AccountKind = "user" | "domain" | "admin";

export type Scope =
  | { kind: "user"; accountId: number; login: string; addresses: string[] }
  | { kind: "domain"; accountId: number; login: string; domain: string }
  | { kind: "admin"; accountId: number; login: string };

/**
 * Which view a quarantine row belongs to: incoming (Caught), outgoing (Caught (Outgoing)), or
 * "train": a delivered copy of an unsure message kept so users can train the filter
 * (Training Requested). A "train" row is never released: its original was delivered.
 */
export type Direction = "in" | "out" | "train";

/** SQL condition (on table alias `m`) limiting rows to the scope, with its arguments. */
export function scopeFilter(scope: Scope, alias = "m"): { sql: string; args: string[] } {
  switch (scope.kind) {
    case "admin":
      return { sql: "1", args: [] };
    case "domain":
      return { sql: `${alias}.recipient_domain = ?`, args: [scope.domain] };
    case "user":
      if (scope.addresses.length === 1) return { sql: `${alias}.recipient = ?`, args: [scope.addresses[0]] };
      return { sql: `${alias}.recipient IN (${scope.addresses.map(() => "?").join(",")})`, args: scope.addresses };
  }
}

/** The UID high-water-mark keys a scope's UIDNEXT is computed from. */
export function markKeys(scope: Scope, direction: Direction): string[] {
  switch (scope.kind) {
    case "admin":
      return [`${direction}:*`];
    case "domain":
      return [`${direction}:d:${scope.domain}`];
    case "user":
      return scope.addresses.map((a) => `${direction}:r:${a}`);
  }
}

/** The mark keys one new row raises: its recipient, its domain, everything. */
export function markKeysForRow(recipient: string, domain: string, direction: Direction): string[] {
  return [`${direction}:*`, `${direction}:d:${domain}`, `${direction}:r:${recipient}`];
}

/** Does a row (recipient, domain) fall in the scope? For change-feed filtering in memory. */
export function inScope(scope: Scope, recipient: string, domain: string): boolean {
  switch (scope.kind) {
    case "admin":
      return true;
    case "domain":
      return domain === scope.domain;
    case "user":
      return scope.addresses.includes(recipient);
  }
}

/** The tenant a row belongs to, for per-tenant limits: its domain. */
export function tenantOf(scope: Scope): string {
  return scope.kind === "admin" ? "*" : scope.kind === "domain" ? scope.domain : scope.addresses[0].split("@")[1] ?? "*";
}

export function normalizeAddress(a: string): string {
  return a.trim().replace(/^<|>$/g, "").toLowerCase();
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? "" : address.slice(at + 1);
}

const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/;
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$/;

export function isAddress(s: string): boolean {
  return s.length <= 254 && ADDRESS.test(s);
}
export function isDomainName(s: string): boolean {
  return s.length <= 253 && DOMAIN.test(s);
}
