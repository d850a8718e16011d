/**
 * Client onboarding over real HTTP: Thunderbird autoconfig (checked against the fields of
 * its clientConfig 1.1 format), Outlook Autodiscover, and the Apple profile (parsed as a
 * plist by Python's plistlib); and the OpenAPI 3.1 document's structure.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startTestServer, PROBLEM, type TestServer } from "./helpers.ts";

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

/** Elements of a small XML document (no attributes with '>' inside): name → text of each occurrence. */
function elements(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "g"))].map((m) => m[1].trim());
}

test("Thunderbird autoconfig has the clientConfig 1.1 fields, at both paths", async () => {
  for (const path of ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"]) {
    const r = await fetch(`${s.base}${path}?emailaddress=alice@example.com`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /^application\/xml/);
    const xml = await r.text();
    assert.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<clientConfig version="1\.1">/);
    assert.match(xml, /<emailProvider id="example\.com">/);
    assert.deepEqual(elements(xml, "domain"), ["example.com"]);
    assert.equal(elements(xml, "displayName").length, 1);
    assert.equal(elements(xml, "displayShortName").length, 1);
    const incoming = elements(xml, 'incomingServer');
    assert.equal(incoming.length, 2);
    const servers = incoming.map((x) => ({
      hostname: elements(x, "hostname")[0],
      port: Number(elements(x, "port")[0]),
      socketType: elements(x, "socketType")[0],
      authentication: elements(x, "authentication")[0],
      username: elements(x, "username")[0],
    }));
    assert.deepEqual(servers, [
      { hostname: "mail.example.test", port: 993, socketType: "SSL", authentication: "password-cleartext", username: "%EMAILADDRESS%" },
      { hostname: "mail.example.test", port: 143, socketType: "STARTTLS", authentication: "password-cleartext", username: "%EMAILADDRESS%" },
    ]);
    assert.match(xml, /<incomingServer type="imap">/);
    for (const st of elements(xml, "socketType")) assert.ok(["plain", "SSL", "STARTTLS"].includes(st));
    for (const p of elements(xml, "port")) assert.ok(Number(p) > 0 && Number(p) < 65536);
    assert.equal(elements(xml, "outgoingServer").length, 1, "Thunderbird's reader wants an outgoing server");
  }
  const bad = await fetch(`${s.base}/mail/config-v1.1.xml?emailaddress=<script>`);
  assert.equal(bad.status, 400);
  assert.ok(bad.headers.get("content-type")?.startsWith(PROBLEM));
  assert.ok(!(await bad.text()).includes("<script>"));
});

test("Outlook Autodiscover answers the POX request with IMAP settings", async () => {
  const req = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>Alice@Example.com</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;
  const r = await fetch(`${s.base}/autodiscover/autodiscover.xml`, { method: "POST", body: req, headers: { "content-type": "text/xml" } });
  assert.equal(r.status, 200);
  const xml = await r.text();
  assert.match(xml, /<Autodiscover xmlns="http:\/\/schemas\.microsoft\.com\/exchange\/autodiscover\/responseschema\/2006">/);
  assert.deepEqual(elements(xml, "Type"), ["IMAP"]);
  assert.deepEqual(elements(xml, "Server"), ["mail.example.test"]);
  assert.deepEqual(elements(xml, "Port"), ["993"]);
  assert.deepEqual(elements(xml, "SSL"), ["on"]);
  assert.deepEqual(elements(xml, "LoginName"), ["alice@example.com"]);
  const bad = await fetch(`${s.base}/autodiscover/autodiscover.xml`, { method: "POST", body: "<Autodiscover/>" });
  assert.equal(bad.status, 400);
});

function python(script: string, input: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out, err }));
    p.stdin.end(input);
  });
}

test("the Apple mobileconfig parses as a plist with a com.apple.mail.managed payload", async () => {
  const r = await fetch(`${s.base}/apple/quarantine.mobileconfig?email=alice@example.com`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/x-apple-aspen-config");
  const text = await r.text();
  const py = await python(
    "import plistlib,sys,json; p=plistlib.loads(sys.stdin.buffer.read()); print(json.dumps(p))",
    text,
  );
  assert.equal(py.code, 0, py.err);
  const plist = JSON.parse(py.out);
  assert.equal(plist.PayloadType, "Configuration");
  assert.equal(plist.PayloadVersion, 1);
  assert.match(plist.PayloadUUID, /^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  const mail = plist.PayloadContent[0];
  assert.equal(mail.PayloadType, "com.apple.mail.managed");
  assert.equal(mail.EmailAccountType, "EmailTypeIMAP");
  assert.equal(mail.IncomingMailServerHostName, "mail.example.test");
  assert.equal(mail.IncomingMailServerPortNumber, 993);
  assert.equal(mail.IncomingMailServerUseSSL, true);
  assert.equal(mail.IncomingMailServerUsername, "alice@example.com");
  assert.equal(mail.EmailAddress, "alice@example.com");
  // the same address gives the same UUIDs (a new download replaces the installed profile)
  const again = await (await fetch(`${s.base}/apple/quarantine.mobileconfig?email=alice@example.com`)).text();
  assert.equal(again, text);
  assert.equal((await fetch(`${s.base}/apple/quarantine.mobileconfig`)).status, 400);
  assert.equal((await fetch(`${s.base}/apple/quarantine.mobileconfig?email=nope`)).status, 400);
});

test("the OpenAPI document is OpenAPI 3.1 and structurally valid", async () => {
  const r = await fetch(`${s.base}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  const doc = await r.json();
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.equal(typeof doc.info.title, "string");
  assert.equal(typeof doc.info.version, "string");
  assert.equal(doc.jsonSchemaDialect, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(doc.components.securitySchemes.bearer.type, "http");
  assert.equal(doc.components.securitySchemes.bearer.scheme, "bearer");
  const allowed = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
  const opIds = new Set<string>();
  const refs: string[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === "object") for (const [k, v] of Object.entries(x)) k === "$ref" ? refs.push(v as string) : walk(v);
  };
  walk(doc);
  for (const ref of refs) {
    assert.match(ref, /^#\//);
    const target = ref.slice(2).split("/").reduce((o: any, k) => o?.[k], doc);
    assert.ok(target, `unresolved $ref ${ref}`);
  }
  let ops = 0;
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    assert.match(path, /^\//);
    const templ = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries<any>(item)) {
      assert.ok(allowed.has(method), `${method} ${path}`);
      ops++;
      assert.equal(typeof op.operationId, "string");
      assert.ok(!opIds.has(op.operationId), `duplicate operationId ${op.operationId}`);
      opIds.add(op.operationId);
      const pathParams = (op.parameters ?? []).filter((p: any) => p.in === "path").map((p: any) => p.name);
      assert.deepEqual(pathParams.sort(), [...templ].sort(), `path parameters of ${method} ${path}`);
      const seen = new Set<string>();
      for (const p of op.parameters ?? []) {
        assert.ok(["query", "header", "path", "cookie"].includes(p.in));
        assert.equal(typeof p.name, "string");
        assert.ok(!seen.has(`${p.in}:${p.name}`), "unique parameters");
        seen.add(`${p.in}:${p.name}`);
        if (p.in === "path") assert.equal(p.required, true);
        assert.ok(p.schema && typeof p.schema === "object", `schema of ${p.name}`);
      }
      assert.ok(Object.keys(op.responses).length > 0);
      for (const [code, resp] of Object.entries<any>(op.responses)) {
        assert.match(code, /^([1-5](\d\d|XX)|default)$/);
        assert.equal(typeof resp.description, "string");
      }
      if (op.requestBody) assert.ok(Object.keys(op.requestBody.content).length > 0);
    }
  }
  assert.ok(ops >= 25, `${ops} operations`);
  // generated from the request schemas: the field constraints are there
  const search = doc.paths["/api/v1/messages"].get;
  const names = search.parameters.map((p: any) => p.name);
  for (const n of ["recipient", "domain", "sender", "subject", "reason", "scoreMin", "scoreMax", "since", "until", "state", "cursor", "limit"]) assert.ok(names.includes(n), n);
  const create = doc.paths["/api/v1/domains"].post.requestBody.content["application/json"].schema;
  assert.deepEqual(create.required, ["name"]);
  assert.equal(create.additionalProperties, false);
  assert.equal(doc.paths["/api/v1/messages"].post.parameters.find((p: any) => p.name === "recipient").required, true);
  assert.ok(doc.paths["/api/v1/messages/{id}/raw"].get.responses["200"].content["message/rfc822"]);
});
