import { parseStatusItems, quoteString, encodeMutf7 } from "../protocol/index.ts";
import type { FolderDef } from "../../quarantine/folders.ts";
import { folderUidValidity, lookupFolder } from "../session/folders.ts";
import type { ImapSession } from "../session/session.ts";
import { expectArgs, mailboxArg, no, ok, type CommandSpec } from "./result.ts";

/** The "* STATUS name (...)" line for a folder, shared by STATUS and LIST-STATUS. */
export async function statusLine(s: ImapSession, folder: FolderDef, items: string[]): Promise<string> {
  const counts = folder.shows
    ? await s.deps.mailbox.status(s.scope!, folder.shows, s.scope!.accountId)
    : { messages: 0, unseen: 0, size: 0, deleted: 0, uidNext: 1, modseq: await s.deps.mailbox.currentModseq() };
  const values: Record<string, number> = {
    MESSAGES: counts.messages,
    RECENT: 0,
    UIDNEXT: Math.max(1, counts.uidNext),
    UIDVALIDITY: folderUidValidity(s, folder),
    UNSEEN: counts.unseen,
    HIGHESTMODSEQ: Math.max(1, counts.modseq),
    SIZE: counts.size,
    DELETED: counts.deleted,
    APPENDLIMIT: s.deps.config.limits.maxMessageBytes,
  };
  const parts = items.map((i) => `${i} ${values[i]}`);
  return `* STATUS ${quoteString(encodeMutf7(folder.name))} (${parts.join(" ")})`;
}

export const status: CommandSpec = {
  names: ["STATUS"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 2);
    const folder = lookupFolder(s, mailboxArg(cmd.args[0]));
    const items = parseStatusItems(cmd.args[1]);
    if (!folder) return no("No such folder", "NONEXISTENT");
    s.out.line(await statusLine(s, folder, items));
    return ok("STATUS completed");
  },
};
