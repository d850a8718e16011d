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
  /** the header block as SEARCH matches it (searchText()), made on first use by SEARCH TEXT */
  headerText?: string;
}

/**
 * Bytes an entry holds. headerText counts one byte a character: header blocks are ASCII but for
 * rare raw 8-bit fields (encoded words stay encoded), and both engines keep such strings one byte
 * a character.
 */
function sizeOf(l: Listing): number {
  return 2 * (l.envelope.length + l.bodyStructure.length + l.body.length + l.tree.length) + l.header.length + (l.headerText?.length ?? 0) + 64;
}

const utf8 = new TextDecoder();

/**
 * Header bytes as SEARCH compares them: UTF-8, unfolded (CRLF and the white space after it become
 * one space) and lower-cased. HEADER applies it to one field, TEXT to the whole block.
 */
export function searchText(header: Uint8Array): string {
  return utf8.decode(header).replace(/\r\n[ \t]+/g, " ").toLowerCase();
}

export class ListingCache {
  private entries = new Map<number, Listing>();
  private bytes = 0;

  constructor(private store: Store, private maxBytes: number) {}

  private add(id: number, l: Listing): void {
    if (this.entries.has(id)) return;
    this.entries.set(id, l);
    this.bytes += sizeOf(l);
    this.evict();
  }

  private evict(): void {
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

  /**
   * The blob's header block as SEARCH TEXT matches it (searchText()), kept with its cached listing
   * and counted in the budget: made once, by warm() or by the first TEXT search that needs it.
   */
  headerText(id: number, l: Listing): string {
    if (l.headerText === undefined) {
      l.headerText = searchText(l.header);
      if (this.entries.get(id) === l) {
        this.bytes += l.headerText.length;
        this.evict();
      }
    }
    return l.headerText;
  }

  /**
   * Loads the listings of quarantined messages, newest first, until the byte budget is used;
   * then, with what is left of it, their header blocks as SEARCH TEXT matches them (made in
   * slices of 500 between which other work runs: about 3 ms each on the bench corpus).
   */
  async warm(): Promise<number> {
    const r = await this.store.client.execute("SELECT DISTINCT blob_id FROM messages WHERE state = 'caught' ORDER BY blob_id DESC LIMIT 200000");
    const ids = r.rows.map((row) => Number(row.blob_id));
    for (let i = 0; i < ids.length && this.bytes < this.maxBytes * 0.9; i += 2000) await this.get(ids.slice(i, i + 2000));
    let n = 0;
    for (const [id, l] of [...this.entries]) {
      if (this.bytes >= this.maxBytes * 0.9) break;
      this.headerText(id, l);
      if (++n % 500 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return this.entries.size;
  }
}
