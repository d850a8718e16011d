import { test } from "node:test";
import assert from "node:assert/strict";
import { hashPassword, isSupportedHash, needsRehash, verifyPassword } from "../../../src/auth/password.ts";

test("scrypt hash has the PHC shape and verifies", async () => {
  const h = await hashPassword("correct horse battery staple");
  assert.match(h, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(isSupportedHash(h), true);
  assert.equal(needsRehash(h), false);
  assert.equal(await verifyPassword("correct horse battery staple", h), true);
  assert.equal(await verifyPassword("correct horse battery stapler", h), false);
  assert.equal(await verifyPassword("", h), false);
});

test("same password hashes differently (random salt)", async () => {
  const [a, b] = await Promise.all([hashPassword("pw"), hashPassword("pw")]);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword("pw", b), true);
});

test("unicode passwords are NFC-normalised", async () => {
  const h = await hashPassword("Gr\u00fc\u00dfe");
  assert.equal(await verifyPassword("Gru\u0308\u00dfe", h), true);
});

test("older parameters still verify and ask for a rehash", async () => {
  // A hash made with N=2^10 by the same code path, as an older version might have stored.
  const { scryptSync } = await import("node:crypto");
  const salt = Buffer.from("0123456789abcdef");
  const key = scryptSync("old", salt, 32, { N: 1024, r: 8, p: 1 });
  const b64 = (b: Buffer) => b.toString("base64").replace(/=+$/, "");
  const h = `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(key)}`;
  assert.equal(await verifyPassword("old", h), true);
  assert.equal(needsRehash(h), true);
});

test("malformed or hostile hashes are false, not exceptions", async () => {
  for (const bad of ["", "plain", "$scrypt$ln=99,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "$scrypt$ln=15$x$y", "$2b$10$abc"]) {
    assert.equal(await verifyPassword("pw", bad), false, bad);
    assert.equal(isSupportedHash(bad), false, bad);
  }
});

test("argon2id PHC strings verify on Bun", async (t) => {
  const bun = (globalThis as { Bun?: { password: { hash(pw: string, o: unknown): Promise<string> } } }).Bun;
  if (!bun) return t.skip("Bun.password not available on this runtime");
  const h = await bun.password.hash("pw", { algorithm: "argon2id", memoryCost: 8192, timeCost: 2 });
  assert.equal(await verifyPassword("pw", h), true);
  assert.equal(await verifyPassword("nope", h), false);
});
