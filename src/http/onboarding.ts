/**
 * Mail client onboarding: Thunderbird autoconfig, Outlook Autodiscover (POX) and an Apple
 * configuration profile. Each points the client at this server's IMAP host (config.hostname)
 * and ports; the login is the user's email address.
 *
 * The quarantine has no mail submission, but Thunderbird's autoconfig reader and Apple's
 * mail payload both insist on an outgoing server, so they are given the same host on the
 * submission port; sending from the quarantine account is never needed.
 */
import { createHash } from "node:crypto";
import type { Context, Hono } from "hono";
import { domainOf, isAddress, isDomainName } from "../quarantine/scope.ts";
import { HttpProblem } from "./problem.ts";
import { readBody } from "./router.ts";

export interface ImapEndpoints {
  hostname: string;
  /** implicit TLS port, when that listener is on */
  imaps?: number;
  /** STARTTLS port, when that listener is on */
  imap?: number;
  displayName?: string;
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c]!);
}

function emailFrom(c: Context, key: string): string | undefined {
  const e = c.req.query(key)?.trim().toLowerCase();
  if (e === undefined || e === "") return undefined;
  if (!isAddress(e)) throw new HttpProblem(400, `query field "${key}": expected an email address`, { errors: [{ path: key, in: "query", message: "expected an email address" }] });
  return e;
}

export function thunderbirdXml(ep: ImapEndpoints, domain: string): string {
  const servers: string[] = [];
  const inc = (port: number, socket: string) =>
    `    <incomingServer type="imap">
      <hostname>${xmlEscape(ep.hostname)}</hostname>
      <port>${port}</port>
      <socketType>${socket}</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>`;
  if (ep.imaps) servers.push(inc(ep.imaps, "SSL"));
  if (ep.imap) servers.push(inc(ep.imap, "STARTTLS"));
  const name = ep.displayName ?? "Spam quarantine";
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${xmlEscape(domain)}">
    <domain>${xmlEscape(domain)}</domain>
    <displayName>${xmlEscape(`${name} (${domain})`)}</displayName>
    <displayShortName>${xmlEscape(name)}</displayShortName>
${servers.join("\n")}
    <outgoingServer type="smtp">
      <hostname>${xmlEscape(ep.hostname)}</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`;
}

export function autodiscoverXml(ep: ImapEndpoints, email: string): string {
  const ssl = ep.imaps !== undefined;
  const port = ssl ? ep.imaps! : ep.imap!;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <User>
      <DisplayName>${xmlEscape(ep.displayName ?? "Spam quarantine")}</DisplayName>
    </User>
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
      <Protocol>
        <Type>IMAP</Type>
        <Server>${xmlEscape(ep.hostname)}</Server>
        <Port>${port}</Port>
        <DomainRequired>off</DomainRequired>
        <LoginName>${xmlEscape(email)}</LoginName>
        <SPA>off</SPA>
        <SSL>on</SSL>
        ${ssl ? "" : "<Encryption>TLS</Encryption>\n        "}<AuthRequired>on</AuthRequired>
      </Protocol>
    </Account>
  </Response>
</Autodiscover>
`;
}

/** A UUID derived from a string, so a re-downloaded profile replaces the installed one. */
function stableUuid(s: string): string {
  const h = createHash("sha256").update(s).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

type Plist = string | number | boolean | Plist[] | { [k: string]: Plist };

function plistValue(v: Plist, indent: string): string {
  if (typeof v === "string") return `${indent}<string>${xmlEscape(v)}</string>`;
  if (typeof v === "number") return `${indent}<integer>${Math.trunc(v)}</integer>`;
  if (typeof v === "boolean") return `${indent}<${v}/>`;
  if (Array.isArray(v)) return `${indent}<array>\n${v.map((x) => plistValue(x, indent + "  ")).join("\n")}\n${indent}</array>`;
  return `${indent}<dict>\n${Object.entries(v)
    .map(([k, x]) => `${indent}  <key>${xmlEscape(k)}</key>\n${plistValue(x, indent + "  ")}`)
    .join("\n")}\n${indent}</dict>`;
}

export function mobileconfig(ep: ImapEndpoints, email: string): string {
  const ssl = ep.imaps !== undefined;
  const ident = `quarantine.${ep.hostname.split(".").reverse().join(".")}`;
  const name = ep.displayName ?? "Spam quarantine";
  const mail: Plist = {
    PayloadType: "com.apple.mail.managed",
    PayloadVersion: 1,
    PayloadIdentifier: `${ident}.mail.${stableUuid(email)}`,
    PayloadUUID: stableUuid(`mail:${ep.hostname}:${email}`),
    PayloadDisplayName: `${name} (${email})`,
    EmailAccountDescription: `${name} ${email}`,
    EmailAccountName: email,
    EmailAccountType: "EmailTypeIMAP",
    EmailAddress: email,
    IncomingMailServerAuthentication: "EmailAuthPassword",
    IncomingMailServerHostName: ep.hostname,
    IncomingMailServerPortNumber: ssl ? ep.imaps! : ep.imap!,
    IncomingMailServerUseSSL: true,
    IncomingMailServerUsername: email,
    OutgoingMailServerAuthentication: "EmailAuthPassword",
    OutgoingMailServerHostName: ep.hostname,
    OutgoingMailServerPortNumber: 587,
    OutgoingMailServerUseSSL: true,
    OutgoingMailServerUsername: email,
    OutgoingPasswordSameAsIncomingPassword: true,
    PreventMove: false,
    PreventAppSheet: true,
    SMIMEEnabled: false,
    allowMailDrop: false,
    disableMailRecentsSyncing: true,
  };
  const root: Plist = {
    PayloadType: "Configuration",
    PayloadVersion: 1,
    PayloadIdentifier: `${ident}.${stableUuid(email)}`,
    PayloadUUID: stableUuid(`profile:${ep.hostname}:${email}`),
    PayloadDisplayName: name,
    PayloadDescription: `Reads the spam quarantine of ${email} on ${ep.hostname} over IMAP.`,
    PayloadOrganization: domainOf(email),
    PayloadRemovalDisallowed: false,
    PayloadContent: [mail],
  };
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
${plistValue(root, "")}
</plist>
`;
}

export function mountOnboarding(app: Hono<any>, endpoints: () => ImapEndpoints): void {
  const requireImap = (ep: ImapEndpoints) => {
    if (ep.imaps === undefined && ep.imap === undefined) throw new HttpProblem(404, "no IMAP listener is enabled");
  };
  const tb = (c: Context) => {
    const ep = endpoints();
    requireImap(ep);
    const email = emailFrom(c, "emailaddress");
    let domain = email ? domainOf(email) : (c.req.header("host") ?? "").replace(/:\d+$/, "").replace(/^autoconfig\./i, "").toLowerCase();
    if (!isDomainName(domain)) domain = ep.hostname;
    return c.body(thunderbirdXml(ep, domain), 200, { "Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-store" });
  };
  app.get("/.well-known/autoconfig/mail/config-v1.1.xml", tb);
  app.get("/mail/config-v1.1.xml", tb);

  const autodiscover = async (c: Context) => {
    const ep = endpoints();
    requireImap(ep);
    const body = new TextDecoder().decode(await readBody(c, 64 * 1024));
    const m = /<(?:\w+:)?EMailAddress>\s*([^<\s]+)\s*<\/(?:\w+:)?EMailAddress>/i.exec(body);
    const email = m?.[1].toLowerCase();
    if (!email || !isAddress(email)) throw new HttpProblem(400, "the request has no valid EMailAddress", { errors: [{ path: "Request.EMailAddress", in: "body", message: "expected an email address" }] });
    return c.body(autodiscoverXml(ep, email), 200, { "Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-store" });
  };
  app.post("/autodiscover/autodiscover.xml", autodiscover);
  app.post("/Autodiscover/Autodiscover.xml", autodiscover);

  app.get("/apple/quarantine.mobileconfig", (c) => {
    const ep = endpoints();
    requireImap(ep);
    const email = emailFrom(c, "email");
    if (!email) throw new HttpProblem(400, 'query field "email": required (an email address)', { errors: [{ path: "email", in: "query", message: "required (an email address)" }] });
    return c.body(mobileconfig(ep, email), 200, {
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="quarantine.mobileconfig"`,
      "Cache-Control": "no-store",
    });
  });
}
