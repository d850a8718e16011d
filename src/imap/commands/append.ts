import { ActionError, reportUpload } from "../../quarantine/actions.ts";
import { IngestError } from "../../quarantine/ingest.ts";
import { astring, parseAppendDate, parseFlag, ProtocolError, type Token } from "../protocol/index.ts";
import { lookupFolder } from "../session/folders.ts";
import { mailboxArg, no, ok, type CommandSpec } from "./result.ts";

/**
 * The optional arguments between the mailbox and the message (RFC 3501 §9 append):
 * [SP flag-list] [SP date-time], in that order. Nothing is stored from them (an upload is a
 * report, not a message in a folder), but input that breaks the grammar is a BAD.
 */
function checkOptional(opt: Token[]): void {
  let i = 0;
  const flags = opt[i];
  if (flags?.t === "list") {
    for (const f of flags.v) {
      if (parseFlag(f).toLowerCase() === "\\recent") throw new ProtocolError("APPEND: \\Recent cannot be set");
    }
    i++;
  }
  const date = opt[i];
  if (date) {
    if (date.t !== "string") throw new ProtocolError("APPEND: expected a flag list or a quoted date-time");
    parseAppendDate(astring(date));
    i++;
  }
  if (i !== opt.length) throw new ProtocolError("APPEND: expected [flags] [date-time] before the message");
}

/**
 * APPEND: only Spam and Not Spam take uploads, as training reports (a client dragging a missed
 * spam over from the real mailbox). Release, Release and Train and INBOX refuse: releasing
 * uploaded bytes would make the server an open relay. Nothing is added to any folder.
 */
export const append: CommandSpec = {
  names: ["APPEND"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    if (cmd.args.length < 2 || cmd.args.length > 4) throw new ProtocolError("APPEND needs a mailbox, [flags], [date] and a message literal");
    const message = cmd.args[cmd.args.length - 1] as Token;
    if (message.t !== "string" || !message.literal) throw new ProtocolError("APPEND: the message must be a literal");
    checkOptional(cmd.args.slice(1, -1));
    const folder = lookupFolder(s, mailboxArg(cmd.args[0]));
    if (!folder) return no("No such folder", "TRYCREATE");
    if (message.v.length > s.deps.config.limits.maxMessageBytes) return no("Message too large", "TOOBIG");
    if (!folder.appendReport) {
      const why = folder.onCopy === "release" || folder.onCopy === "release-train"
        ? "Only quarantined messages can be released; move them here from Caught"
        : "This folder does not take uploads";
      return no(why, "CANNOT");
    }
    if (message.v.length === 0) return no("Empty message", "CANNOT");
    try {
      const r = await reportUpload(s.deps.store, { scope: s.scope!, clientAddr: s.remoteAddress, via: "imap" }, folder.appendReport, message.v, {
        reportsPerHourPerTenant: s.deps.config.training.reportsPerHourPerTenant,
      });
      s.deps.onQueued?.();
      return ok(`APPEND completed: reported as ${folder.appendReport}${r.matched ? ` (quarantined message ${r.matched})` : ""}${r.duplicate ? ", already reported before" : ""}`);
    } catch (e) {
      if (e instanceof ActionError) return no(e.message, e.code === "LIMIT" ? "LIMIT" : "CANNOT");
      if (e instanceof IngestError) return no(e.message, "CANNOT");
      throw e;
    }
  },
};
