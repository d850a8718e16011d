import { ActionError, release, remove, report, reportSpam } from "../../quarantine/actions.ts";
import { folderUidValidity, lookupFolder } from "../session/folders.ts";
import { resolveSet } from "../session/sequence.ts";
import { announceExpunge, uidsToSet } from "../session/sync.ts";
import { expectArgs, mailboxArg, no, ok, type CommandSpec } from "./result.ts";

/**
 * COPY / MOVE into a folder is the action (DESIGN.md): Release, Release and Train, Not Spam,
 * Spam, Trash (delete), INBOX (release). The action is committed before the tagged OK.
 * COPYUID names the same UIDs on both sides: the action folders keep nothing, and JavaMail
 * needs the code. UIDs that are already gone answer OK (clients loop on NO).
 */
export const copy: CommandSpec = {
  names: ["COPY", "MOVE"],
  states: ["selected"],
  uid: true,
  allowsExpunge: true,
  async run(s, cmd) {
    expectArgs(cmd, 2);
    const sel = s.selected!;
    const uids = resolveSet(sel, cmd.args[0], !!cmd.uid);
    const target = lookupFolder(s, mailboxArg(cmd.args[1]));
    if (!target) return no("No such folder", "TRYCREATE");
    const move = cmd.name === "MOVE";
    if (move && sel.readOnly) return no("The folder is open read-only", "READ-ONLY");
    if (!sel.folder.shows || uids.length === 0) return ok(`${cmd.name} completed`);
    if (target === sel.folder || target.name === sel.folder.name) return no("Source and destination are the same folder", "CANNOT");
    if (!target.onCopy) return no(`Messages cannot be copied into ${target.name}`, "CANNOT");
    const actor = { scope: s.scope!, clientAddr: s.remoteAddress, via: "imap" };
    const limits = { reportsPerHourPerTenant: s.deps.config.training.reportsPerHourPerTenant };
    let acted: number[];
    try {
      if (sel.folder.shows === "train") {
        // A Training Requested copy was delivered already: moving it trains, never releases.
        const kind = target.onCopy === "spam" ? "spam" : target.onCopy === "delete" ? undefined : "ham";
        acted = kind ? await report(s.deps.store, actor, uids, kind, limits) : await remove(s.deps.store, actor, uids);
        if (kind) await remove(s.deps.store, actor, acted);
      } else switch (target.onCopy) {
        case "release":
        case "release-train":
        case "not-spam":
          acted = await release(s.deps.store, actor, uids, target.onCopy, limits, { smarthost: !!s.deps.config.smtp.smarthost });
          break;
        case "spam":
          acted = await reportSpam(s.deps.store, actor, uids, limits);
          if (move) await remove(s.deps.store, actor, acted);
          break;
        case "delete":
          acted = await remove(s.deps.store, actor, uids);
          break;
      }
    } catch (e) {
      if (e instanceof ActionError) return no(e.message, e.code === "LIMIT" || e.code === "UNAVAILABLE" ? e.code : "CANNOT");
      throw e;
    }
    if (acted.length) {
      s.deps.notifier.kick();
      s.deps.onQueued?.();
    }
    const code = acted.length ? `COPYUID ${folderUidValidity(s, target)} ${uidsToSet(acted)} ${uidsToSet(acted)}` : undefined;
    if (move) {
      // MOVE: the untagged COPYUID comes first, then the expunges (RFC 6851 §4.3).
      if (code) s.out.line(`* OK [${code}] Moved`);
      announceExpunge(s, uids);
      return ok("MOVE completed");
    }
    return ok(`COPY completed${acted.length < uids.length ? ` (${uids.length - acted.length} already left the quarantine)` : ""}`, code);
  },
};
