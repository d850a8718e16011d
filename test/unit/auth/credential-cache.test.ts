import { test } from "node:test";
import assert from "node:assert/strict";
import { CredentialCache } from "../../../src/auth/credential-cache.ts";

const H1 = "$scrypt$ln=15,r=8,p=1$salt1$hash1";
const H2 = "$scrypt$ln=15,r=8,p=1$salt2$hash2";

test("miss, remember, hit", () => {
  const c = new CredentialCache();
  assert.equal(c.check("alice", "pw", H1), undefined);
  c.remember("alice", "pw", H1);
  assert.equal(c.check("alice", "pw", H1), true);
  // A wrong password is never answered from the cache: it must go to the KDF.
  assert.equal(c.check("alice", "wrong", H1), undefined);
  assert.equal(c.check("bob", "pw", H1), undefined);
});

test("entries expire", () => {
  let now = 1_000_000;
  const c = new CredentialCache({ ttlMs: 60_000, now: () => now });
  c.remember("alice", "pw", H1);
  now += 59_999;
  assert.equal(c.check("alice", "pw", H1), true);
  now += 1; // hits do not extend the lifetime
  assert.equal(c.check("alice", "pw", H1), undefined);
  assert.equal(c.size, 0);
});

test("a changed stored hash (password reset) invalidates the entry", () => {
  const c = new CredentialCache();
  c.remember("alice", "old", H1);
  assert.equal(c.check("alice", "old", H2), undefined);
  assert.equal(c.check("alice", "old", H1), undefined, "entry was dropped, not just skipped");
});

test("forget and clear", () => {
  const c = new CredentialCache();
  c.remember("alice", "pw", H1);
  c.remember("bob", "pw", H1);
  c.forget("alice");
  assert.equal(c.check("alice", "pw", H1), undefined);
  assert.equal(c.check("bob", "pw", H1), true);
  c.clear();
  assert.equal(c.size, 0);
});

test("LRU bound evicts the least recently used login", () => {
  const c = new CredentialCache({ maxEntries: 3 });
  c.remember("a", "pw", H1);
  c.remember("b", "pw", H1);
  c.remember("c", "pw", H1);
  assert.equal(c.check("a", "pw", H1), true); // a is now most recent
  c.remember("d", "pw", H1); // evicts b
  assert.equal(c.size, 3);
  assert.equal(c.check("b", "pw", H1), undefined);
  assert.equal(c.check("a", "pw", H1), true);
  assert.equal(c.check("c", "pw", H1), true);
  assert.equal(c.check("d", "pw", H1), true);
});

test("large bound holds", () => {
  const c = new CredentialCache({ maxEntries: 10_000 });
  for (let i = 0; i < 12_000; i++) c.remember(`user${i}`, `secret-${i}`, H1);
  assert.equal(c.size, 10_000);
  assert.equal(c.check("user0", "secret-0", H1), undefined);
  assert.equal(c.check("user11999", "secret-11999", H1), true);
});

test("same password for two logins gives independent entries", () => {
  const c = new CredentialCache();
  c.remember("alice", "shared", H1);
  assert.equal(c.check("bob", "shared", H1), undefined);
});
