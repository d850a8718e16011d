import { lookupFolder, loadSubscriptions } from "../session/folders.ts";
import { expectArgs, mailboxArg, no, ok, type CommandSpec } from "./result.ts";

/** SUBSCRIBE / UNSUBSCRIBE: every folder starts subscribed; a login may unsubscribe. */
export const subscribe: CommandSpec = {
  names: ["SUBSCRIBE", "UNSUBSCRIBE"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    expectArgs(cmd, 1);
    const folder = lookupFolder(s, mailboxArg(cmd.args[0]));
    if (!folder) return no("No such folder", "NONEXISTENT");
    const subs = await loadSubscriptions(s);
    const accountId = s.scope!.accountId;
    if (cmd.name === "SUBSCRIBE") {
      await s.deps.store.client.execute({ sql: "DELETE FROM unsubscribed WHERE account_id = ? AND folder = ?", args: [accountId, folder.name] });
      subs.delete(folder.name);
    } else {
      await s.deps.store.client.execute({ sql: "INSERT OR IGNORE INTO unsubscribed (account_id, folder) VALUES (?, ?)", args: [accountId, folder.name] });
      subs.add(folder.name);
    }
    return ok(`${cmd.name} completed`);
  },
};
