/**
 * Password hashing: scrypt from node:crypto, because it is the one KDF that runs off the
 * event loop on both Bun and Deno (STACK-NOTES §5). Stored as a PHC-style string so the
 * parameters can be raised later without breaking existing hashes.
 *
 *   $scrypt$ln=15,r=8,p=1$<salt base64>$<hash base64>
 *
 * argon2id PHC strings (e.g. imported from another system) are verified with
 * Bun.password.verify when running on Bun.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

const DEFAULT = { ln: 15, r: 8, p: 1 };
const KEY_LEN = 32;
const SALT_LEN = 16;
/** Upper bound on accepted stored parameters, so a hostile hash cannot ask for gigabytes. */
const MAX_LN = 20;

function scryptAsync(pw: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(pw.normalize("NFC"), salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** 128 * N * r bytes are needed; give scrypt twice that so N=2^15 (32 MiB) passes with room. */
function options(ln: number, r: number, p: number): ScryptOptions {
  const N = 2 ** ln;
  return { N, r, p, maxmem: Math.max(64 * 1024 * 1024, 256 * N * r) };
}

// Unpadded base64 as in the PHC string format.
const b64 = (b: Buffer) => b.toString("base64").replace(/=+$/, "");

export async function hashPassword(pw: string): Promise<string> {
  const { ln, r, p } = DEFAULT;
  const salt = randomBytes(SALT_LEN);
  const key = await scryptAsync(pw, salt, KEY_LEN, options(ln, r, p));
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(key)}`;
}

interface ParsedScrypt { ln: number; r: number; p: number; salt: Buffer; hash: Buffer }

function parseScrypt(stored: string): ParsedScrypt | undefined {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/.exec(stored);
  if (!m) return undefined;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || ln > MAX_LN || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(m[4], "base64");
  const hash = Buffer.from(m[5], "base64");
  if (hash.length < 16 || hash.length > 64) return undefined;
  return { ln, r, p, salt, hash };
}

/** True when `stored` is a hash this module can verify (on this runtime). */
export function isSupportedHash(stored: string): boolean {
  if (parseScrypt(stored)) return true;
  return stored.startsWith("$argon2") && bunPassword() !== undefined;
}

/** Whether the stored hash uses weaker parameters than we would use today (rehash on login). */
export function needsRehash(stored: string): boolean {
  const s = parseScrypt(stored);
  return !s || s.ln < DEFAULT.ln || s.r < DEFAULT.r;
}

type BunPassword = { verify(pw: string, hash: string): Promise<boolean> };
function bunPassword(): BunPassword | undefined {
  return (globalThis as { Bun?: { password?: BunPassword } }).Bun?.password;
}

/** Constant-time check of `pw` against a stored hash. Unknown or malformed hashes are false, never an exception. */
export async function verifyPassword(pw: string, stored: string): Promise<boolean> {
  const s = parseScrypt(stored);
  if (s) {
    const key = await scryptAsync(pw, s.salt, s.hash.length, options(s.ln, s.r, s.p));
    return timingSafeEqual(key, s.hash);
  }
  if (stored.startsWith("$argon2")) {
    const bp = bunPassword();
    if (!bp) return false;
    try {
      return await bp.verify(pw, stored);
    } catch {
      return false;
    }
  }
  return false;
}
