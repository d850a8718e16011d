/**
 * The one path every IMAP login takes (LOGIN and AUTHENTICATE PLAIN): TLS required, throttled
 * per address (attempts in flight included) and per address and login (throttle.ts), verified
 * against the store (with the verified-credential cache), audited and counted. Passwords are
 * never logged.
 */
import { imapMetrics } from "../../observability/metrics.ts";
import { authenticate } from "../../quarantine/accounts.ts";
import { ok, no, type CommandResult } from "../commands/result.ts";
import type { ImapSession } from "./session.ts";

async function auditLogin(s: ImapSession, login: string, mechanism: string, result: "ok" | "fail", kind?: string): Promise<void> {
  await s.deps.store.client
    .execute({
      sql: "INSERT INTO audit (at, actor, actor_kind, client_addr, action, detail) VALUES (?, ?, ?, ?, ?, ?)",
      args: [Date.now(), login.slice(0, 254), kind ?? "unknown", s.remoteAddress, result === "ok" ? "login.ok" : "login.fail", JSON.stringify({ via: "imap", mechanism, listener: s.listener })],
    })
    .catch(() => {});
}

export async function login(s: ImapSession, loginName: string, password: string, mechanism: string): Promise<CommandResult> {
  if (!s.secure) return no("Log in over TLS (STARTTLS first)", "PRIVACYREQUIRED");
  const login = loginName.trim().toLowerCase();
  // Reserved before the delay and the password check: attempts in flight count (throttle.ts).
  const attempt = await s.deps.throttle.begin(s.remoteAddress, login);
  if (!attempt) {
    imapMetrics.logins.inc({ result: "throttled", mechanism, kind: "unknown" });
    return no("Too many failed logins from your address; try again later", "UNAVAILABLE");
  }
  let scope: Awaited<ReturnType<typeof authenticate>>;
  try {
    if (attempt.delayMs) await new Promise((r) => setTimeout(r, attempt.delayMs));
    // a client that left while it waited gets no password check (and uses up no guess)
    if (s.isClosed) {
      attempt.abandon();
      return no("Connection closed");
    }
    scope = await authenticate(s.deps.store, login, password, s.deps.credentials);
  } catch (e) {
    attempt.abandon();
    throw e;
  }
  if (!scope) {
    attempt.failed();
    imapMetrics.logins.inc({ result: "fail", mechanism, kind: "unknown" });
    await auditLogin(s, login, mechanism, "fail");
    return no("Invalid credentials", "AUTHENTICATIONFAILED");
  }
  attempt.succeeded();
  s.scope = scope;
  s.state = "auth";
  s.raiseLimits();
  s.resetTimeout();
  imapMetrics.logins.inc({ result: "ok", mechanism, kind: scope.kind });
  void auditLogin(s, login, mechanism, "ok", scope.kind);
  return ok(`Logged in as ${scope.kind === "admin" ? "administrator" : scope.kind === "domain" ? "domain administrator" : "user"}`, `CAPABILITY ${s.capabilities().join(" ")}`);
}
