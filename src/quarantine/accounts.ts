/**
 * Accounts and domains: creation, passwords, listing, and turning a successful login into
 * the Scope every later query is limited by.
 */
import { and, asc, eq } from "drizzle-orm";
import { hashPassword, verifyPassword } from "../auth/password.ts";
import type { CredentialCache } from "../auth/credential-cache.ts";
import type { Store } from "../storage/db.ts";
import { accounts, aliases, domains } from "../storage/schema.ts";
import { domainOf, isAddress, isDomainName, type AccountKind, type Scope } from "./scope.ts";

export class AccountError extends Error {
  constructor(message: string, readonly code: "invalid" | "exists" | "not-found" = "invalid") {
    super(message);
  }
}

/**
 * The kind a new login would get when none is given. Only for creating accounts: an existing
 * account's kind is its stored row's (`accountDomain`), never guessed from its name again.
 */
export function inferKind(login: string): AccountKind {
  return login.includes("@") ? "user" : isDomainName(login) ? "domain" : "admin";
}

export function validateLogin(login: string, kind: AccountKind): string {
  const l = login.trim().toLowerCase();
  if (kind === "user" && !isAddress(l)) throw new AccountError(`not an email address: ${JSON.stringify(login)}`);
  if (kind === "domain" && !isDomainName(l)) throw new AccountError(`not a domain name: ${JSON.stringify(login)}`);
  // No dots or @: an admin login must never look like a domain or an address, or it could be
  // taken for that domain's account.
  if (kind === "admin" && !/^[a-z0-9_-]{1,64}$/.test(l)) throw new AccountError(`an admin login is letters, digits, _ and - (no dots or @: it must not look like a domain or an address; got ${JSON.stringify(login)})`);
  return l;
}

/** The domain an account belongs to, from its stored kind: null for admin accounts (no domain). */
export function accountDomain(acct: { kind: AccountKind; login: string }): string | null {
  return acct.kind === "user" ? domainOf(acct.login) : acct.kind === "domain" ? acct.login : null;
}

export function validatePassword(pw: string): void {
  if (pw.length < 8) throw new AccountError("password: expected at least 8 characters");
  if (pw.length > 1024) throw new AccountError("password: expected at most 1024 characters");
}

export interface DomainInput {
  name: string;
  retentionDays?: number | null;
  route?: string | null;
  options?: Record<string, unknown>;
}

export async function addDomain(store: Store, input: DomainInput): Promise<typeof domains.$inferSelect> {
  const name = input.name.trim().toLowerCase();
  if (!isDomainName(name)) throw new AccountError(`not a domain name: ${JSON.stringify(input.name)}`);
  const existing = await store.db.select().from(domains).where(eq(domains.name, name)).get();
  if (existing) throw new AccountError(`domain ${name} exists already`, "exists");
  const [row] = await store.db
    .insert(domains)
    .values({ name, retentionDays: input.retentionDays ?? null, route: input.route ?? null, options: JSON.stringify(input.options ?? {}), createdAt: Date.now() })
    .returning();
  return row;
}

export async function ensureDomain(store: Store, name: string): Promise<void> {
  await store.db.insert(domains).values({ name, createdAt: Date.now() }).onConflictDoNothing();
}

/**
 * Changes a domain. A new retention applies to the mail already held for it too (counted from
 * each message's arrival), so an operator who shortens it sees the effect at the next expiry run.
 * `defaultRetentionDays` is what "back to the default" (null) means.
 */
export async function updateDomain(store: Store, name: string, patch: Omit<Partial<DomainInput>, "name">, defaultRetentionDays?: number) {
  const set: Partial<typeof domains.$inferInsert> = {};
  if (patch.retentionDays !== undefined) set.retentionDays = patch.retentionDays;
  if (patch.route !== undefined) set.route = patch.route;
  if (patch.options !== undefined) set.options = JSON.stringify(patch.options);
  if (Object.keys(set).length === 0) throw new AccountError("nothing to change");
  const rows = await store.db.update(domains).set(set).where(eq(domains.name, name.toLowerCase())).returning();
  if (rows.length === 0) throw new AccountError(`no domain ${name}`, "not-found");
  const days = patch.retentionDays === undefined ? undefined : (patch.retentionDays ?? defaultRetentionDays);
  if (days !== undefined) {
    await store.client.execute({
      sql: "UPDATE messages SET expires_at = received_at + ? WHERE recipient_domain = ? AND state = 'caught'",
      args: [days * 86400_000, rows[0].name],
    });
  }
  return rows[0];
}

export async function listDomains(store: Store) {
  return store.db.select().from(domains).orderBy(asc(domains.name)).all();
}

export async function getDomain(store: Store, name: string) {
  return store.db.select().from(domains).where(eq(domains.name, name.toLowerCase())).get();
}

/**
 * Whether mail for an address has a quarantine: its domain is in `domains`, or an account
 * (a user login, a domain login) or an alias covers it. LMTP refuses the others with 550, and
 * the CLI refuses to quarantine for them.
 */
export async function isKnownRecipient(store: Store, address: string): Promise<boolean> {
  const r = await store.client.execute({
    sql: `SELECT 1 FROM domains WHERE name = ?1
          UNION ALL SELECT 1 FROM accounts WHERE login IN (?1, ?2) AND disabled = 0
          UNION ALL SELECT 1 FROM aliases WHERE address = ?2
          LIMIT 1`,
    args: [domainOf(address), address],
  });
  return r.rows.length > 0;
}

export async function removeDomain(store: Store, name: string): Promise<void> {
  const n = name.toLowerCase();
  const users = await store.client.execute({
    sql: "SELECT count(*) AS n FROM accounts WHERE (kind = 'domain' AND login = ?) OR (kind = 'user' AND login LIKE ? ESCAPE '\\')",
    args: [n, `%@${n.replace(/[\\%_]/g, (c) => `\\${c}`)}`],
  });
  if (Number(users.rows[0].n) > 0) throw new AccountError(`domain ${n} still has accounts; remove them first`);
  const rows = await store.db.delete(domains).where(eq(domains.name, n)).returning();
  if (rows.length === 0) throw new AccountError(`no domain ${n}`, "not-found");
}

export interface AccountInput {
  login: string;
  kind?: AccountKind;
  password: string;
}

export async function addAccount(store: Store, input: AccountInput) {
  const kind = input.kind ?? inferKind(input.login);
  const login = validateLogin(input.login, kind);
  validatePassword(input.password);
  const existing = await store.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.login, login)).get();
  if (existing) throw new AccountError(`account ${login} exists already`, "exists");
  if (kind !== "admin") await ensureDomain(store, kind === "user" ? domainOf(login) : login);
  const now = Date.now();
  const [row] = await store.db
    .insert(accounts)
    .values({ kind, login, passwordHash: await hashPassword(input.password), createdAt: now, passwordChangedAt: now })
    .returning({ id: accounts.id, kind: accounts.kind, login: accounts.login, createdAt: accounts.createdAt });
  return row;
}

export async function setPassword(store: Store, login: string, password: string, cache?: CredentialCache): Promise<void> {
  validatePassword(password);
  const l = login.trim().toLowerCase();
  const rows = await store.db
    .update(accounts)
    .set({ passwordHash: await hashPassword(password), passwordChangedAt: Date.now() })
    .where(eq(accounts.login, l))
    .returning({ id: accounts.id });
  if (rows.length === 0) throw new AccountError(`no account ${l}`, "not-found");
  cache?.forget(l);
}

export async function listAccounts(store: Store, filter: { kind?: AccountKind; domain?: string } = {}) {
  const rows = await store.db
    .select({ id: accounts.id, kind: accounts.kind, login: accounts.login, disabled: accounts.disabled, createdAt: accounts.createdAt })
    .from(accounts)
    .orderBy(asc(accounts.login))
    .all();
  const d = filter.domain?.toLowerCase();
  return rows.filter((r) => (!filter.kind || r.kind === filter.kind) && (!d || accountDomain(r) === d));
}

export async function getAccount(store: Store, login: string) {
  return store.db.select().from(accounts).where(eq(accounts.login, login.trim().toLowerCase())).get();
}

export async function removeAccount(store: Store, login: string, cache?: CredentialCache): Promise<void> {
  const l = login.trim().toLowerCase();
  const rows = await store.db.delete(accounts).where(eq(accounts.login, l)).returning({ id: accounts.id });
  if (rows.length === 0) throw new AccountError(`no account ${l}`, "not-found");
  await store.client.execute({ sql: "DELETE FROM message_flags WHERE account_id = ?", args: [rows[0].id] });
  cache?.forget(l);
}

export async function addAlias(store: Store, login: string, address: string): Promise<void> {
  const acct = await getAccount(store, login);
  if (!acct || acct.kind !== "user") throw new AccountError(`no user account ${login}`, "not-found");
  const a = address.trim().toLowerCase();
  if (!isAddress(a)) throw new AccountError(`not an email address: ${JSON.stringify(address)}`);
  await store.db.insert(aliases).values({ address: a, accountId: acct.id });
}

/** The scope of an account row: what it sees in Caught. */
export async function scopeOf(store: Store, acct: { id: number; kind: AccountKind; login: string }): Promise<Scope> {
  if (acct.kind === "admin") return { kind: "admin", accountId: acct.id, login: acct.login };
  if (acct.kind === "domain") return { kind: "domain", accountId: acct.id, login: acct.login, domain: acct.login };
  const more = await store.db.select({ address: aliases.address }).from(aliases).where(and(eq(aliases.accountId, acct.id))).all();
  return { kind: "user", accountId: acct.id, login: acct.login, addresses: [acct.login, ...more.map((m) => m.address)] };
}

/**
 * Checks a login and password. A known-good (login, password, stored hash) triple is answered
 * from the verified-credential cache; anything else pays for a full scrypt verification.
 * Returns null for an unknown login or a wrong password alike.
 */
export async function authenticate(store: Store, login: string, password: string, cache?: CredentialCache): Promise<Scope | null> {
  const l = login.trim().toLowerCase();
  if (!l || l.length > 254 || password.length > 1024) return null;
  const acct = await getAccount(store, l);
  if (!acct || acct.disabled) {
    // Spend the same time as a real check so a probe cannot tell unknown logins from wrong passwords.
    await verifyPassword(password, DUMMY_HASH);
    return null;
  }
  let ok = cache?.check(l, password, acct.passwordHash);
  if (ok === undefined) {
    ok = await verifyPassword(password, acct.passwordHash);
    if (ok) cache?.remember(l, password, acct.passwordHash);
  }
  return ok ? scopeOf(store, acct) : null;
}

const DUMMY_HASH = "$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/** Creates the super-admin on first start; returns the generated password when one was made. */
export async function ensureAdmin(store: Store, login: string, password?: string): Promise<{ created: boolean; generated?: string }> {
  const existing = await getAccount(store, login);
  if (existing) return { created: false };
  const generated = password ? undefined : randomPassword();
  try {
    await addAccount(store, { login, kind: "admin", password: password ?? generated! });
  } catch (e) {
    // An existing super-admin keeps its login; a new one must follow today's rules.
    if (e instanceof AccountError) throw new AccountError(`admin.login: ${e.message}`, e.code);
    throw e;
  }
  return { created: true, generated };
}

export function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return Buffer.from(bytes).toString("base64url");
}
