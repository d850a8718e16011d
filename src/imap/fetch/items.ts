/**
 * FETCH: what each item needs from storage, and how it is written. Listing items (FLAGS,
 * ENVELOPE, BODYSTRUCTURE, header fields) come from the index stored at ingest; only body
 * sections read (and inflate) the message bytes.
 */
import { binaryBytes, headerFields, nulTo80, sectionBytes, type MimeNode } from "../../mime/index.ts";
import type { FetchRow } from "../../quarantine/mailbox.ts";
import { formatInternalDate, type FetchItem } from "../protocol/index.ts";

export interface Needs {
  envelope: boolean;
  bodyStructure: boolean;
  body: boolean;
  tree: boolean;
  header: boolean;
  bytes: boolean;
  setsSeen: boolean;
  modseq: boolean;
}

/** Does this BODY[] item need the whole message, or only the stored top-level header? */
function headerOnly(item: FetchItem & { kind: "BODY[]" }): boolean {
  const t = item.section.text;
  return item.section.part.length === 0 && (t === "HEADER" || t === "HEADER.FIELDS" || t === "HEADER.FIELDS.NOT");
}

export function needsOf(items: FetchItem[]): Needs {
  const n: Needs = { envelope: false, bodyStructure: false, body: false, tree: false, header: false, bytes: false, setsSeen: false, modseq: false };
  for (const it of items) {
    switch (it.kind) {
      case "ENVELOPE": n.envelope = true; break;
      case "BODYSTRUCTURE": n.bodyStructure = true; break;
      case "BODY": n.body = true; break;
      case "MODSEQ": n.modseq = true; break;
      case "RFC822.HEADER": n.header = true; break;
      case "RFC822": n.bytes = true; n.setsSeen = true; break;
      case "RFC822.TEXT": n.bytes = true; n.tree = true; n.setsSeen = true; break;
      case "BODY[]":
        if (headerOnly(it)) n.header = true;
        else {
          n.bytes = true;
          if (it.section.part.length || it.section.text) n.tree = true;
        }
        if (!it.peek) n.setsSeen = true;
        break;
      case "BINARY[]":
        n.bytes = true; n.tree = true;
        if (!it.peek) n.setsSeen = true;
        break;
      case "BINARY.SIZE":
        n.bytes = true; n.tree = true;
        break;
    }
  }
  return n;
}

function slice(b: Uint8Array, partial?: { start: number; length: number }): Uint8Array {
  if (!partial) return b;
  if (partial.start >= b.length) return new Uint8Array(0);
  return b.subarray(partial.start, Math.min(b.length, partial.start + partial.length));
}

export interface FetchContext {
  row: FetchRow;
  flags: string;
  modseq: number;
  raw?: Uint8Array;
  tree?: MimeNode;
}

export interface Emitter {
  text(s: string): void;
  bytes(b: Uint8Array): void;
}

export class UnknownCteError extends Error {}

/** Writes one message's FETCH items; throws UnknownCteError for a BINARY we cannot decode. */
export function writeItems(items: FetchItem[], c: FetchContext, emit: Emitter): void {
  const lit = (b: Uint8Array, binary = false) => {
    // literal8 (~{n}) only when the data really holds NUL bytes (RFC 3516)
    emit.text(`${binary && b.indexOf(0) >= 0 ? "~" : ""}{${b.length}}\r\n`);
    emit.bytes(b);
  };
  items.forEach((it, i) => {
    if (i) emit.text(" ");
    switch (it.kind) {
      case "UID": return emit.text(`UID ${c.row.uid}`);
      case "FLAGS": return emit.text(`FLAGS ${c.flags}`);
      case "INTERNALDATE": return emit.text(`INTERNALDATE "${formatInternalDate(c.row.receivedAt)}"`);
      case "RFC822.SIZE": return emit.text(`RFC822.SIZE ${c.row.size}`);
      case "ENVELOPE": return emit.text(`ENVELOPE ${c.row.envelope}`);
      case "BODYSTRUCTURE": return emit.text(`BODYSTRUCTURE ${c.row.bodyStructure}`);
      case "BODY": return emit.text(`BODY ${c.row.body}`);
      case "MODSEQ": return emit.text(`MODSEQ (${Math.max(1, c.modseq)})`);
      case "EMAILID": return emit.text(`EMAILID (M${c.row.blobId})`);
      case "THREADID": return emit.text("THREADID NIL");
      // NUL cannot travel in a literal (RFC 3501 §4.3): like Dovecot, send 0x80 instead
      case "RFC822":
        emit.text("RFC822 ");
        return lit(nulTo80(c.raw!));
      case "RFC822.HEADER":
        emit.text("RFC822.HEADER ");
        return lit(nulTo80(c.row.header!));
      case "RFC822.TEXT":
        emit.text("RFC822.TEXT ");
        return lit(sectionBytes(c.raw!, c.tree!, { part: [], text: "TEXT" }));
      case "BODY[]": {
        const sec = it.section;
        let data: Uint8Array;
        if (sec.part.length === 0 && !sec.text) data = nulTo80(c.raw!);
        else if (sec.part.length === 0 && sec.text === "HEADER") data = nulTo80(c.row.header!);
        else if (sec.part.length === 0 && (sec.text === "HEADER.FIELDS" || sec.text === "HEADER.FIELDS.NOT")) {
          data = nulTo80(headerFields(c.row.header!, sec.fields ?? [], sec.text === "HEADER.FIELDS.NOT"));
        } else data = sectionBytes(c.raw!, c.tree!, { part: sec.part, text: sec.text, fields: sec.fields });
        emit.text(`${it.label} `);
        return lit(slice(data, it.partial));
      }
      case "BINARY[]": {
        const data = it.part.length === 0 ? c.raw! : binaryBytes(c.raw!, c.tree!, it.part);
        if (data === null) throw new UnknownCteError(`Unknown content-transfer-encoding in part ${it.part.join(".")}`);
        emit.text(`${it.label} `);
        return lit(slice(data, it.partial), true);
      }
      case "BINARY.SIZE": {
        const data = it.part.length === 0 ? c.raw! : binaryBytes(c.raw!, c.tree!, it.part);
        if (data === null) throw new UnknownCteError(`Unknown content-transfer-encoding in part ${it.part.join(".")}`);
        return emit.text(`${it.label} ${data.length}`);
      }
    }
  });
}
