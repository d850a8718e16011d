/**
 * How message bytes are stored: the header block and the body are compressed separately
 * (brotli, quality 3: as small as deflate -6 here at half the CPU), so header fetches for a
 * folder listing never decompress bodies. A whole message is header + body.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";

export function compress(bytes: Uint8Array): Uint8Array {
  return brotliCompressSync(bytes, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 3, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
}

export function decompress(stored: ArrayBuffer | Uint8Array): Uint8Array {
  return brotliDecompressSync(stored instanceof Uint8Array ? stored : new Uint8Array(stored));
}

/** The stored message: header block and body, each compressed. */
export function joinMessage(header: ArrayBuffer | Uint8Array, body: ArrayBuffer | Uint8Array): Uint8Array {
  const h = decompress(header);
  const b = decompress(body);
  const out = new Uint8Array(h.length + b.length);
  out.set(h, 0);
  out.set(b, h.length);
  return out;
}
