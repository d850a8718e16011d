/** Failed-login limits over real connections: parallel attempts, and no lockout of a named user from elsewhere. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { RawClient } from "../helpers/imap-client.ts";
import { PASSWORD, startTestServer, type TestServer } from "../helpers/server.ts";

let t: TestServer;
before(async () => {
  t = await startTestServer({ limits: { failedLoginsPerIpPerMinute: 5 } }, ["alice@example.com"]);
});
after(async () => t.stop());

const from = (addr: string) => RawClient.connect(t.imaps, true, { localAddress: addr } as object);

async function audited(addr: string): Promise<number> {
  const r = await t.server.store.client.execute({ sql: "SELECT count(*) AS n FROM audit WHERE action = 'login.fail' AND client_addr = ?", args: [addr] });
  return Number(r.rows[0].n);
}

test("20 simultaneous wrong LOGINs from one address: only the budget of 5 reaches the password check", async () => {
  const addr = "127.0.0.3";
  const conns = await Promise.all(Array.from({ length: 20 }, () => from(addr)));
  const replies = await Promise.all(conns.map((c, i) => c.cmd("a", `LOGIN alice@example.com wrong${i}`, 20_000)));
  const failed = replies.filter((r) => /^a NO \[AUTHENTICATIONFAILED\]/m.test(r)).length;
  const refused = replies.filter((r) => /^a NO \[UNAVAILABLE\] Too many failed logins/m.test(r)).length;
  assert.equal(failed, 5, replies.join(""));
  assert.equal(refused, 15);
  assert.equal(await audited(addr), 5, "five checks, not twenty");
  // and the right password from there waits for the window too
  assert.match(await conns[0].cmd("b", `LOGIN alice@example.com ${PASSWORD}`), /^b NO \[UNAVAILABLE\]/m);
  for (const c of conns) c.close();
});

test("failures against a login from one address do not slow its right password from another", async () => {
  const attacker = await from("127.0.0.4");
  for (let i = 0; i < 4; i++) assert.match(await attacker.cmd(`a${i}`, `LOGIN alice@example.com wrong${i}`), /AUTHENTICATIONFAILED/);
  attacker.close();
  const victim = await from("127.0.0.5");
  const t0 = performance.now();
  assert.match(await victim.cmd("v", `LOGIN alice@example.com ${PASSWORD}`), /^v OK/m);
  const ms = performance.now() - t0;
  // the attacker's address would now wait 2 s before its next answer
  assert.ok(ms < 1500, `${ms.toFixed(0)} ms`);
  victim.close();
});

test("a burst of right passwords from one address (an office behind NAT) all get in: past the budget they wait their turn", async () => {
  const conns = await Promise.all(Array.from({ length: 12 }, () => from("127.0.0.6")));
  const replies = await Promise.all(conns.map((c) => c.cmd("a", `LOGIN alice@example.com ${PASSWORD}`, 20_000)));
  assert.deepEqual(replies.filter((r) => !/^a OK/m.test(r)), []);
  for (const c of conns) c.close();
});
