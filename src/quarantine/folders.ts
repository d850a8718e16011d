/**
 * The virtual folders (DESIGN.md "Folders"). Nobody creates or deletes them; every one is
 * selectable; the action folders are always empty and act on what is copied into them.
 */
import type { Direction } from "./scope.ts";

export type FolderAction = "release" | "release-train" | "not-spam" | "spam" | "delete";

export interface FolderDef {
  /** canonical name, as LIST shows it */
  name: string;
  /** SPECIAL-USE attribute, if any */
  specialUse?: "\\Junk" | "\\Trash";
  /** what selecting it shows: Caught rows of a direction, or nothing */
  shows?: Direction;
  /** what a COPY/MOVE into it does */
  onCopy?: FolderAction;
  /** whether APPEND into it is accepted (a training report) */
  appendReport?: "spam" | "ham";
  /** index used to derive a stable UIDVALIDITY per folder */
  index: number;
}

export const FOLDERS: FolderDef[] = [
  { name: "INBOX", onCopy: "release", index: 0 },
  { name: "Caught", specialUse: "\\Junk", shows: "in", index: 1 },
  { name: "Release", onCopy: "release", index: 2 },
  { name: "Release and Train", onCopy: "release-train", index: 3 },
  { name: "Not Spam", onCopy: "not-spam", appendReport: "ham", index: 4 },
  { name: "Spam", onCopy: "spam", appendReport: "spam", index: 5 },
  { name: "Trash", specialUse: "\\Trash", onCopy: "delete", index: 6 },
  { name: "Caught (Outgoing)", shows: "out", index: 7 },
  { name: "Training Requested", shows: "train", index: 8 },
];

/** Alias spellings accepted as names of a folder but never listed. */
const ALIASES: Record<string, string> = { "release and train/not spam": "Not Spam" };

export interface FolderOptions {
  inboxShowsCaught: boolean;
  outgoingFolder: boolean;
  trainingFolder: boolean;
}

export function visibleFolders(opts: FolderOptions): FolderDef[] {
  return FOLDERS.filter((f) => (f.shows !== "out" || opts.outgoingFolder) && (f.shows !== "train" || opts.trainingFolder));
}

/** Resolves a client's mailbox name (already mUTF-7 decoded) to a folder; INBOX is case-insensitive. */
export function findFolder(name: string, opts: FolderOptions): FolderDef | undefined {
  const trimmed = name.replace(/\/+$/, "");
  if (trimmed.toUpperCase() === "INBOX") {
    const inbox = FOLDERS[0];
    return opts.inboxShowsCaught ? { ...inbox, shows: "in" } : inbox;
  }
  const alias = ALIASES[trimmed.toLowerCase()];
  const wanted = alias ?? trimmed;
  return visibleFolders(opts).find((f) => f.name === wanted);
}

export function uidValidity(base: number, folder: FolderDef): number {
  return ((base + folder.index) >>> 0) || 1;
}
