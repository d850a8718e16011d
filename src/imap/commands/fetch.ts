import { storeFlags } from "../../quarantine/actions.ts";
import type { MimeNode } from "../../mime/index.ts";
import { needsOf, UnknownCteError, writeItems, type Needs } from "../fetch/items.ts";
import type { FetchRow } from "../../quarantine/mailbox.ts";
import type { ImapSession } from "../session/session.ts";
import { parseFetchItems, parseSequenceSet, ProtocolError, STAR, type FetchItem } from "../protocol/index.ts";
import { resolveSet } from "../session/sequence.ts";
import { flagsList, uidsToSet } from "../session/sync.ts";
import { no, ok, type CommandSpec } from "./result.ts";

/**
 * The rows of a FETCH: per-message facts (cached, scope-checked when read) joined with the
 * per-blob listing data (cached) — no database round trip for a warm folder.
 */
async function fetchRows(s: ImapSession, uids: number[], needs: Needs): Promise<FetchRow[]> {
  const facts = await s.deps.searchFacts.get(s.scope!, uids);
  const listingNeeded = needs.envelope || needs.bodyStructure || needs.body || needs.tree || needs.header;
  const listings = listingNeeded ? await s.deps.listings.get([...facts.values()].map((f) => f.blobId)) : undefined;
  const rows: FetchRow[] = [];
  for (const uid of uids) {
    const f = facts.get(uid);
    if (!f) continue;
    const l = listings?.get(f.blobId);
    rows.push({ uid, receivedAt: f.receivedAt, size: f.size, modseq: f.modseq, blobId: f.blobId, envelope: l?.envelope, bodyStructure: l?.bodyStructure, body: l?.body, tree: l?.tree, header: l?.header });
  }
  return rows;
}

/** Messages per storage round trip: bounded memory for bodies, few queries for listings. */
const CHUNK_LISTING = 2000;
const CHUNK_BODIES = 100;

/**
 * FETCH / UID FETCH, answered in UID order, in chunks: listing items from the caches, message
 * bytes read (and decompressed in the codec workers) one chunk ahead of the one being written.
 * A non-PEEK body fetch on a read-write folder sets \Seen first. With QRESYNC,
 * (CHANGEDSINCE n VANISHED) also reports the UIDs of the set removed since n.
 */
export const fetch: CommandSpec = {
  names: ["FETCH"],
  states: ["selected"],
  uid: true,
  async run(s, cmd) {
    if (cmd.args.length < 2) throw new ProtocolError("FETCH needs a sequence set and items");
    const sel = s.selected!;
    const { items: parsed, changedSince, vanished } = parseFetchItems(cmd.args.slice(1));
    const items: FetchItem[] = [...parsed];
    if (cmd.uid && !items.some((i) => i.kind === "UID")) items.unshift({ kind: "UID" });
    if (vanished && (!cmd.uid || !s.enabled.has("QRESYNC"))) throw new ProtocolError("VANISHED needs UID FETCH with QRESYNC enabled");
    if (changedSince !== undefined) s.enabled.add("CONDSTORE");
    // CHANGEDSINCE implies MODSEQ in every answer (RFC 7162 §3.1.4.1)
    if (changedSince !== undefined && !items.some((i) => i.kind === "MODSEQ")) items.push({ kind: "MODSEQ" });
    const needs = needsOf(items);
    let uids = resolveSet(sel, cmd.args[0], !!cmd.uid);
    const scope = s.scope!;
    if (vanished && changedSince !== undefined && sel.folder.shows) {
      const asked = parseSequenceSet((cmd.args[0] as { v: string }).v);
      // removed UIDs may lie above the view's highest, so "*" here means "no upper bound"
      const bound = (x: number) => (x === STAR ? Infinity : x);
      const inSet = (u: number) => asked !== "$" && asked.some(([a, b]) => u >= Math.min(bound(a), bound(b)) && u <= Math.max(bound(a), bound(b)));
      const changes = await s.deps.mailbox.changesSince(scope, sel.folder.shows, scope.accountId, Number(changedSince), 100000);
      const gone = [...new Set(changes.filter((c) => c.kind === "remove" && !sel.has(c.uid) && inSet(c.uid)).map((c) => c.uid))].sort((a, b) => a - b);
      if (gone.length) s.out.line(`* VANISHED (EARLIER) ${uidsToSet(gone)}`);
    }

    if (needs.setsSeen && !sel.readOnly && sel.folder.shows) {
      const unseen = uids.filter((u) => !(sel.flagBits(u) & 1));
      if (unseen.length) {
        const r = await storeFlags(s.deps.store, scope, unseen, "add", ["\\Seen"]);
        for (const [uid, f] of r.changed) sel.flags.set(uid, f);
        sel.noteOwnChanges(r.changed);
        if (r.changed.size) s.deps.notifier.kick();
        if (!items.some((i) => i.kind === "FLAGS")) items.push({ kind: "FLAGS" });
      }
    }

    const chunkSize = needs.bytes ? CHUNK_BODIES : CHUNK_LISTING;
    const treeCache = new Map<number, MimeNode>();
    const emit = { text: (t: string) => s.out.text(t), bytes: (b: Uint8Array) => s.out.bytes(b) };
    // Read (and decompress, in the codec worker) chunk k+1 while chunk k is written.
    const load = (i: number) => {
      const chunk = uids.slice(i, i + chunkSize);
      return fetchRows(s, chunk, needs).then(async (rows) => ({
        rows,
        bytes: needs.bytes ? await s.deps.mailbox.bytes(scope, rows.map((r) => r.uid)) : undefined,
      }));
    };
    let next = uids.length ? load(0) : undefined;
    for (let i = 0; next; i += chunkSize) {
      const { rows: present, bytes } = await next;
      next = i + chunkSize < uids.length ? load(i + chunkSize) : undefined;
      for (const row of present) {
        const seq = sel.seqOf(row.uid);
        if (!seq) continue;
        const f = sel.flags.get(row.uid);
        const modseq = Math.max(row.modseq, f?.modseq ?? 0);
        if (changedSince !== undefined && BigInt(modseq) <= changedSince) continue;
        let tree: MimeNode | undefined;
        if (row.tree) {
          tree = treeCache.get(row.blobId) ?? (JSON.parse(row.tree) as MimeNode);
          treeCache.set(row.blobId, tree);
        }
        s.out.text(`* ${seq} FETCH (`);
        try {
          writeItems(items, { row, flags: flagsList(s, row.uid), modseq, raw: bytes?.get(row.uid), tree }, emit);
        } catch (e) {
          if (e instanceof UnknownCteError) {
            s.out.text(")\r\n");
            return no(e.message, "UNKNOWN-CTE");
          }
          throw e;
        }
        s.out.text(")\r\n");
        await s.out.maybeFlush();
      }
      treeCache.clear();
    }
    uids = [];
    return ok(`${cmd.uid ? "UID " : ""}FETCH completed`);
  },
};
