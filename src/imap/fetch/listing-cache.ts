/**
 * What a folder listing FETCHes of each stored message (ENVELOPE, BODYSTRUCTURE, BODY, the
 * MIME tree and the decompressed header block), kept in memory per blob and bounded by bytes.
 * It never changes once stored, so a listing of a warm folder is pure string work — the role
 * Dovecot's index cache plays. Warmed in the background at start.
 */
import { decodeListing } from "../../storage/codec.ts";
import type { Store } from "../../storage/db.ts";

export interface Listing {
  envelope: string;
  bodyStructure: string;
  body: string;
  tree: string;
  header: Uint8Array;
}

function sizeOf(l: Listing): number {
  return 2 * (l.envelope.length + l.bodyStructure.length + l.body.length + l.tree.length) + l.header.length + 64;
}

export class ListingCache {
  private entries = new Map<number, Listing>();
  private bytes = 0;

  constructor(private store: Store, private maxBytes: number) {}

  private add(id: number, l: Listing): void {
    if (this.entries.has(id)) return;
    this.entries.set(id, l);
    this.bytes += sizeOf(l);
    while (this.bytes > this.maxBytes && this.entries.size) {
      const [oldest, entry] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.bytes -= sizeOf(entry);
    }
  }

  /** Listings of the blobs, reading what is not cached (blob ids come from scope-checked rows). */
  async get(blobIds: number[]): Promise<Map<number, Listing>> {
    const out = new Map<number, Listing>();
    const missing: number[] = [];
    for (const id of blobIds) {
      const l = this.entries.get(id);
      if (l) out.set(id, l);
      else if (!out.has(id)) missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const r = await this.store.client.execute({
        sql: `SELECT id, data FROM blobs WHERE id IN (${chunk.map(() => "?").join(",")})`,
        args: chunk,
      });
      for (const row of r.rows) {
        const { meta, header } = decodeListing(row.data as ArrayBuffer);
        const l: Listing = { ...meta, header: header.slice() };
        out.set(Number(row.id), l);
        this.add(Number(row.id), l);
      }
    }
    return out;
  }

  /** Loads the listings of quarantined messages, newest first, until the byte budget is used. */
  async warm(): Promise<number> {
    const r = await this.store.client.execute("SELECT DISTINCT blob_id FROM messages WHERE state = 'caught' ORDER BY blob_id DESC LIMIT 200000");
    const ids = r.rows.map((row) => Number(row.blob_id));
    for (let i = 0; i < ids.length && this.bytes < this.maxBytes * 0.9; i += 2000) await this.get(ids.slice(i, i + 2000));
    return this.entries.size;
  }
}
