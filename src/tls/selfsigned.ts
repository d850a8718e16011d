/**
 * First-run certificate: a self-signed ECDSA P-256 certificate so that TLS works out of
 * the box. Operators replace tls/cert.pem + tls/key.pem with a real one (the store
 * reloads them on SIGHUP or file change).
 */
import type * as X509 from "@peculiar/x509";
import { randomBytes, X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { TlsFileError, type TlsLog } from "./context.ts";

/**
 * @peculiar/x509 2.2 (via tsyringe) throws at import unless reflect-metadata ran first
 * (STACK-NOTES §4). A static `import "reflect-metadata"` is not enough in the compiled
 * binary: the bundler's lazy module init ran x509 before the polyfill. Dynamic imports
 * make the order explicit, and keep x509 off the startup path when the cert exists.
 */
let x509Promise: Promise<typeof X509> | undefined;
function loadX509(): Promise<typeof X509> {
  x509Promise ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(globalThis.crypto);
    return x509;
  })();
  return x509Promise;
}

export interface TlsFiles { certPath: string; keyPath: string }

const VALID_DAYS = 2 * 365;

export interface SelfSigned { certPem: string; keyPem: string; serial: string }

/** The names a self-signed certificate for `hostname` is made for. */
function namesFor(hostname: string): string[] {
  return [...new Set([hostname, "localhost", "127.0.0.1", "::1"])];
}

/** One spelling per name: runtimes print ::1 as "::1" or "0:0:0:0:0:0:0:1". */
function canonicalName(name: string): string {
  if (!isIP(name)) return name.toLowerCase();
  return isIP(name) === 6 ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
}

/**
 * The hostname a certificate was made for when it is one of ours: self-signed, and naming
 * exactly what createSelfSigned puts in. undefined for anything else (an operator's
 * certificate, even one placed in <dataDir>/tls, is never replaced).
 */
export function selfSignedHostname(pem: string): string | undefined {
  let x: X509Certificate;
  try {
    x = new X509Certificate(pem);
    if (x.issuer !== x.subject || !x.verify(x.publicKey)) return undefined;
  } catch {
    return undefined;
  }
  const cn = /^CN=([^\n]*)$/.exec(x.subject)?.[1];
  if (!cn) return undefined;
  const san = (x.subjectAltName ?? "").split(", ").map((e) => canonicalName(e.replace(/^(DNS|IP Address):/, "")));
  const expected = namesFor(cn).map(canonicalName);
  return san.length === expected.length && expected.every((n) => san.includes(n)) ? cn : undefined;
}

/** Build a self-signed server certificate in memory (used by ensureSelfSigned and by tests). */
export async function createSelfSigned(hostname: string, days = VALID_DAYS): Promise<SelfSigned> {
  const x509 = await loadX509();
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  // Positive 128-bit serial (top bit cleared so DER does not need a sign byte).
  const serialBytes = randomBytes(16);
  serialBytes[0] &= 0x7f;
  const serial = serialBytes.toString("hex");

  const names = namesFor(hostname);
  const san = names.map((value) => ({ type: isIP(value) ? "ip" : "dns", value }) as X509.JsonGeneralName);

  const notBefore = new Date(Date.now() - 5 * 60_000); // tolerate small clock skew on clients
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial,
    name: `CN=${hostname.replace(/[,+="\\<>;]/g, "")}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(san),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    certPem: cert.toString("pem") + "\n",
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n",
    serial,
  };
}

/** Write atomically (temp file + rename) so the file watcher never sees half a PEM. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode); // the umask may have narrowed or widened the create mode
  await rename(tmp, path);
}

/** Write a fresh self-signed pair to the given paths (key 0600). */
export async function writeSelfSigned(files: TlsFiles, hostname: string, days = VALID_DAYS): Promise<SelfSigned> {
  const s = await createSelfSigned(hostname, days);
  await writeAtomic(files.keyPath, s.keyPem, 0o600);
  await writeAtomic(files.certPath, s.certPem, 0o644);
  return s;
}

/**
 * Make sure <dir>/tls/cert.pem and key.pem exist; create a self-signed pair if both are
 * absent. If only one exists, refuse rather than overwrite what may be an operator's file.
 * A pair we made for another hostname (--hostname changed) is made again for this one.
 */
export async function ensureSelfSigned(dir: string, hostname: string, log: TlsLog = () => {}): Promise<TlsFiles> {
  const tlsDir = join(dir, "tls");
  const files: TlsFiles = { certPath: join(tlsDir, "cert.pem"), keyPath: join(tlsDir, "key.pem") };
  const haveCert = existsSync(files.certPath);
  const haveKey = existsSync(files.keyPath);
  if (haveCert && haveKey) {
    let madeFor: string | undefined;
    try {
      madeFor = selfSignedHostname(readFileSync(files.certPath, "utf8"));
    } catch {
      /* unreadable: TlsContextStore.load() reports it */
    }
    if (madeFor !== undefined && canonicalName(madeFor) !== canonicalName(hostname)) {
      await writeSelfSigned(files, hostname);
      log("tls.self_signed_regenerated", { certPath: files.certPath, hostname, previousHostname: madeFor });
    }
    return files;
  }
  if (haveCert || haveKey) {
    const missing = haveCert ? files.keyPath : files.certPath;
    throw new TlsFileError(haveCert ? "key" : "cert", `${missing} is missing (its partner exists); supply it or remove both to get a self-signed pair`);
  }
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  await writeSelfSigned(files, hostname);
  return files;
}
