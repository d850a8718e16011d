/**
 * Shares folder snapshots between sessions of the same view: 2,000 sessions of one domain
 * admin selecting Caught hold one UID array, not 2,000 copies. An entry is reused only while
 * the change log has not moved since it was read.
 */
import type { Mailbox, ViewSnapshot } from "../../quarantine/mailbox.ts";
import type { Direction, Scope } from "../../quarantine/scope.ts";

function viewKey(scope: Scope, direction: Direction): string {
  const who = scope.kind === "admin" ? "*" : scope.kind === "domain" ? `d:${scope.domain}` : `r:${[...scope.addresses].sort().join(",")}`;
  return `${direction}|${who}`;
}

export class ViewCache {
  private entries = new Map<string, ViewSnapshot>();

  constructor(private mailbox: Mailbox, private maxEntries = 1000) {}

  async snapshot(scope: Scope, direction: Direction): Promise<ViewSnapshot> {
    const key = viewKey(scope, direction);
    const cached = this.entries.get(key);
    if (cached && (await this.mailbox.currentModseq()) === cached.modseq) return cached;
    const fresh = await this.mailbox.snapshot(scope, direction);
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, fresh);
    return fresh;
  }
}
