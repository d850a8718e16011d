/** Folder lookups for a session: its options, subscriptions and UIDVALIDITY. */
import { findFolder, uidValidity, visibleFolders, type FolderDef } from "../../quarantine/folders.ts";
import type { ImapSession } from "./session.ts";

export function folderOptions(s: ImapSession) {
  const imap = s.deps.config.imap;
  return { inboxShowsCaught: imap.inboxShowsCaught, outgoingFolder: imap.outgoingFolder, trainingFolder: imap.trainingFolder };
}

export function lookupFolder(s: ImapSession, name: string): FolderDef | undefined {
  return findFolder(name, folderOptions(s));
}

export function sessionFolders(s: ImapSession): FolderDef[] {
  return visibleFolders(folderOptions(s)).map((f) => lookupFolder(s, f.name)!);
}

export function folderUidValidity(s: ImapSession, f: FolderDef): number {
  return uidValidity(s.deps.uidValidityBase, f);
}

export async function loadSubscriptions(s: ImapSession): Promise<Set<string>> {
  if (!s.unsubscribed) {
    const r = await s.deps.store.client.execute({ sql: "SELECT folder FROM unsubscribed WHERE account_id = ?", args: [s.scope!.accountId] });
    s.unsubscribed = new Set(r.rows.map((row) => row.folder as string));
  }
  return s.unsubscribed;
}
