/**
 * Envelope addresses taken from a message's header when the command line gives none
 * (`import`'s recipients and senders, `ingest`'s sender).
 */
import { isAddress, normalizeAddress } from "./scope.ts";

/** Where the envelope sender is read from: Return-Path, else From. */
export const SENDER_HEADERS = ["Return-Path", "From"];

const FIELD_RE = new Map<string, RegExp>();

/** The first address in one of the header fields, read from the header block only. */
export function headerAddress(raw: Uint8Array, names: string[]): string | undefined {
  let end = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf("\n\n");
  const crlf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf("\r\n\r\n");
  if (crlf >= 0 && (end < 0 || crlf < end)) end = crlf;
  const head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(end < 0 ? raw.length : end, 256 * 1024)).toString("latin1").replace(/\r?\n[ \t]+/g, " ");
  for (const name of names) {
    let re = FIELD_RE.get(name);
    if (!re) FIELD_RE.set(name, (re = new RegExp(`^${name.replace(/[-]/g, "\\-")}:[ \\t]*(.*)$`, "im")));
    const m = head.match(re);
    if (!m) continue;
    const addr = m[1].match(/<([^>]+)>/)?.[1] ?? m[1].split(",")[0].trim();
    const a = normalizeAddress(addr);
    if (isAddress(a)) return a;
  }
  return undefined;
}
