/** Failed-login limits: attempts in flight count per address; the delay is per address and login. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { LoginThrottle, type LoginAttempt } from "../../../src/imap/session/throttle.ts";

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** Settles pending promise callbacks. */
const tick = () => new Promise((r) => setTimeout(r, 0));

test("attempts in flight use the address's budget: the sixth of six simultaneous attempts waits, then is refused", async () => {
  const c = clock();
  const th = new LoginThrottle(5, c.now);
  const first = await Promise.all(Array.from({ length: 5 }, () => th.begin("192.0.2.1", "alice@example.com")));
  assert.ok(first.every((a) => a !== null));
  const sixth: { a?: LoginAttempt | null } = {};
  void th.begin("192.0.2.1", "alice@example.com").then((a) => (sixth.a = a));
  await tick();
  assert.equal(sixth.a, undefined, "waits while five are being checked");
  assert.notEqual(await th.begin("192.0.2.2", "alice@example.com"), null, "another address is not affected");
  for (const a of first) a!.failed();
  await tick();
  assert.equal(sixth.a, null, "five failures this minute: refused without a check");
  assert.equal(await th.begin("192.0.2.1", "bob@example.com"), null);
  c.advance(60_000);
  assert.notEqual(await th.begin("192.0.2.1", "bob@example.com"), null, "a new window");
});

test("a success gives its slot back; abandon() counts nothing", async () => {
  const th = new LoginThrottle(2, clock().now);
  const a = (await th.begin("192.0.2.1", "a"))!;
  const b = (await th.begin("192.0.2.1", "b"))!;
  const waiting: { c?: LoginAttempt | null } = {};
  void th.begin("192.0.2.1", "c").then((x) => (waiting.c = x));
  await tick();
  assert.equal(waiting.c, undefined);
  a.succeeded();
  await tick();
  const c = (waiting as { c?: LoginAttempt | null }).c;
  assert.ok(c, "the waiting attempt got the slot");
  b.abandon();
  c.abandon();
  c.failed(); // already finished: no effect
  const all = await Promise.all([th.begin("192.0.2.1", "d"), th.begin("192.0.2.1", "e")]);
  assert.ok(all.every((x) => x !== null), "nothing was counted as a failure");
});

test("the delay is keyed on address and login: failures elsewhere never slow the owner's address", async () => {
  const c = clock();
  const th = new LoginThrottle(30, c.now);
  for (let i = 0; i < 3; i++) (await th.begin("192.0.2.66", "alice@example.com"))!.failed();
  assert.equal(th.delay("192.0.2.66", "alice@example.com"), 1000);
  assert.equal(th.delay("192.0.2.7", "alice@example.com"), 0, "alice from her own address");
  assert.equal(th.delay("192.0.2.66", "bob@example.com"), 0);
  const next = (await th.begin("192.0.2.66", "alice@example.com"))!;
  assert.equal(next.delayMs, 1000);
  next.failed();
  for (let i = 0; i < 10; i++) (await th.begin("192.0.2.66", "alice@example.com"))!.failed();
  assert.equal(th.delay("192.0.2.66", "alice@example.com"), 15_000, "at most 15 s");
  c.advance(60_001);
  assert.equal(th.delay("192.0.2.66", "alice@example.com"), 0, "forgotten after a quiet minute");
});

test("a success forgets the pair's failures, not the address's", async () => {
  const th = new LoginThrottle(3, clock().now);
  (await th.begin("192.0.2.1", "alice"))!.failed();
  (await th.begin("192.0.2.1", "victim"))!.failed();
  assert.equal(th.delay("192.0.2.1", "alice"), 250);
  (await th.begin("192.0.2.1", "alice"))!.succeeded();
  assert.equal(th.delay("192.0.2.1", "alice"), 0);
  // logging in to one's own account does not buy more guesses at someone else's
  (await th.begin("192.0.2.1", "victim"))!.failed();
  assert.equal(th.blocked("192.0.2.1"), true);
  assert.equal(await th.begin("192.0.2.1", "alice"), null);
});
