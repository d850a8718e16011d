/**
 * Verified-credential cache (the idea of Dovecot's auth cache): after a login has been
 * verified with scrypt (~100 ms of CPU), remember an HMAC of the password for a few
 * minutes so repeated logins (mail clients open several connections, phones reconnect
 * constantly) cost microseconds instead of a KDF run each.
 *
 * - The plaintext is never stored: only HMAC-SHA256(per-process random key, password).
 *   The key never leaves memory, so a heap dump of the cache is not an offline oracle
 *   cheaper than the scrypt hashes themselves.
 * - The stored hash the password was verified against is part of the entry, so a
 *   password reset (new stored hash) invalidates the entry without any explicit call.
 * - Bounded in size (LRU via Map insertion order) and in lifetime.
 * - Only successes are cached; a wrong password always goes to the KDF (and the throttle).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

interface Entry { mac: Buffer; storedHash: string; expires: number }

export interface CredentialCacheOptions {
  /** maximum number of logins remembered (default 10,000) */
  maxEntries?: number;
  /** lifetime of an entry in ms (default 5 minutes) */
  ttlMs?: number;
  /** clock, for tests */
  now?: () => number;
}

export class CredentialCache {
  readonly #key = randomBytes(32);
  readonly #map = new Map<string, Entry>();
  readonly #max: number;
  readonly #ttl: number;
  readonly #now: () => number;

  constructor(opts: CredentialCacheOptions = {}) {
    this.#max = Math.max(1, opts.maxEntries ?? 10_000);
    this.#ttl = opts.ttlMs ?? 5 * 60_000;
    this.#now = opts.now ?? Date.now;
  }

  #mac(login: string, pw: string): Buffer {
    // The login is mixed in so equal passwords of two accounts do not give equal MACs.
    return createHmac("sha256", this.#key).update(login).update("\0").update(pw).digest();
  }

  /** true = this password was verified against this stored hash recently; undefined = run the KDF. */
  check(login: string, pw: string, storedHash: string): boolean | undefined {
    const e = this.#map.get(login);
    if (!e) return undefined;
    if (e.expires <= this.#now() || e.storedHash !== storedHash) {
      this.#map.delete(login);
      return undefined;
    }
    if (!timingSafeEqual(e.mac, this.#mac(login, pw))) return undefined;
    // Refresh recency (not lifetime): move to the end of the Map's insertion order.
    this.#map.delete(login);
    this.#map.set(login, e);
    return true;
  }

  /** Call only after verifyPassword(pw, storedHash) returned true. */
  remember(login: string, pw: string, storedHash: string): void {
    this.#map.delete(login);
    this.#map.set(login, { mac: this.#mac(login, pw), storedHash, expires: this.#now() + this.#ttl });
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as string;
      this.#map.delete(oldest);
    }
  }

  forget(login: string): void {
    this.#map.delete(login);
  }

  clear(): void {
    this.#map.clear();
  }

  get size(): number {
    return this.#map.size;
  }
}
