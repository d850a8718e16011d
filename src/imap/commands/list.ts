import { encodeMutf7, listMatch, parseListArgs, quoteString, astring } from "../protocol/index.ts";
import { loadSubscriptions, sessionFolders } from "../session/folders.ts";
import { expectArgs, ok, type CommandSpec } from "./result.ts";
import { statusLine } from "./status.ts";

/**
 * LIST (with LIST-EXTENDED, SPECIAL-USE, LIST-STATUS) and LSUB. Folders are flat, so every
 * one is \HasNoChildren; subscriptions start full (Thunderbird and Outlook show only those).
 */
export const list: CommandSpec = {
  names: ["LIST", "LSUB"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    const lsub = cmd.name === "LSUB";
    if (lsub) expectArgs(cmd, 2);
    const args = lsub ? { reference: astring(cmd.args[0]), patterns: [astring(cmd.args[1])], selection: [], returnOpts: {} as Record<string, unknown> } : parseListArgs(cmd.args);
    const ret = args.returnOpts as { subscribed?: boolean; children?: boolean; specialUse?: boolean; status?: string[] };
    const selection = new Set(args.selection.map((x) => x.toUpperCase()));
    // LIST "" "": the hierarchy delimiter and root.
    if (!lsub && args.patterns.length === 1 && args.patterns[0] === "") {
      s.out.line('* LIST (\\Noselect) "/" ""');
      return ok("LIST completed");
    }
    const subs = await loadSubscriptions(s);
    const onlySubscribed = lsub || selection.has("SUBSCRIBED");
    const onlySpecial = selection.has("SPECIAL-USE");
    for (const f of sessionFolders(s)) {
      const name = f.name;
      if (!args.patterns.some((p) => listMatch(args.reference + p, name, "/"))) continue;
      const subscribed = !subs.has(name);
      if (onlySubscribed && !subscribed) continue;
      if (onlySpecial && !f.specialUse) continue;
      const attrs = ["\\HasNoChildren"];
      if (f.specialUse && (!lsub)) attrs.push(f.specialUse);
      if (!lsub && (ret.subscribed || selection.has("SUBSCRIBED")) && subscribed) attrs.push("\\Subscribed");
      s.out.line(`* ${cmd.name} (${attrs.join(" ")}) "/" ${quoteString(encodeMutf7(name))}`);
      if (ret.status?.length) s.out.line(await statusLine(s, f, ret.status));
    }
    return ok(`${cmd.name} completed`);
  },
};
