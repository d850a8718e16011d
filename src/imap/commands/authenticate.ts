import { astring, clientText } from "../protocol/index.ts";
import { login } from "../session/login.ts";
import type { ImapSession } from "../session/session.ts";
import { bad, expectArgs, no, type CommandResult, type CommandSpec } from "./result.ts";

/** SASL PLAIN (RFC 4616): [authzid] NUL authcid NUL password, base64. */
function decodePlain(b64: string): { authz: string; user: string; pass: string } | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  const parts = Buffer.from(b64, "base64").toString("utf8").split("\0");
  if (parts.length !== 3 || !parts[1]) return null;
  return { authz: parts[0], user: parts[1], pass: parts[2] };
}

async function finish(s: ImapSession, tag: string, response: string): Promise<void> {
  let r: CommandResult;
  if (response === "*") r = bad("AUTHENTICATE cancelled");
  else {
    const creds = decodePlain(response.trim());
    if (!creds) r = bad("Malformed PLAIN response");
    // Logging in as someone else (authzid) is not supported: only an empty or identical authzid.
    else if (creds.authz && creds.authz.toLowerCase() !== creds.user.toLowerCase()) r = no("Proxy authorization is not supported", "AUTHORIZATIONFAILED");
    else r = await login(s, creds.user, creds.pass, "PLAIN");
  }
  s.out.line(`${tag} ${r.status} ${r.code ? `[${r.code}] ` : ""}${r.text}`);
}

/** AUTHENTICATE PLAIN, with or without an initial response (SASL-IR). */
export const authenticate: CommandSpec = {
  names: ["AUTHENTICATE"],
  states: ["notauth"],
  async run(s, cmd) {
    try {
      expectArgs(cmd, 1, 2);
      const mech = astring(cmd.args[0]).toUpperCase();
      let r: CommandResult | undefined;
      if (!s.secure) r = no("Authenticate over TLS (STARTTLS first)", "PRIVACYREQUIRED");
      else if (mech !== "PLAIN") r = no(`Unsupported mechanism ${clientText(mech)}`, "CANNOT");
      if (r) {
        s.out.line(`${cmd.tag} ${r.status} [${r.code}] ${r.text}`);
        return;
      }
      if (cmd.args.length === 2) {
        const ir = astring(cmd.args[1]);
        await finish(s, cmd.tag, ir === "=" ? "" : ir);
        return;
      }
      // Ask for the response; the next raw line is it.
      s.out.line("+ ");
      s.reader.lineMode(true);
      s.lineHandler = async (text, tooLong) => {
        s.reader.lineMode(false);
        // An over-long response ends the exchange here, so the client's next line is a command again.
        if (tooLong) s.out.line(`${cmd.tag} BAD [TOOBIG] SASL response too long`);
        else await finish(s, cmd.tag, text);
        s.releaseInput();
      };
      await s.out.flush();
      s.releaseInput();
      return;
    } finally {
      if (!s.lineHandler) s.releaseInput();
    }
  },
};
