import { syncMailbox } from "../session/sync.ts";
import { expectArgs, type CommandSpec } from "./result.ts";

/**
 * IDLE (RFC 2177): "+ idling", then folder changes are pushed as they happen (the notifier
 * wakes us within its poll interval, at once for changes made in this process) until DONE.
 * Bytes after DONE in the same packet (iOS) are processed as the next commands.
 */
export const idle: CommandSpec = {
  names: ["IDLE"],
  states: ["auth", "selected"],
  async run(s, cmd) {
    try {
      expectArgs(cmd, 0);
    } catch (e) {
      s.releaseInput();
      throw e;
    }
    s.out.line("+ idling");
    let pushing = Promise.resolve();
    const wake = () => {
      pushing = pushing.then(async () => {
        if (s.isClosed || !s.idleWake) return;
        await syncMailbox(s, { expunge: true });
        await s.out.flush();
      });
    };
    s.idleWake = wake;
    const unsubscribe = s.deps.notifier.subscribe(wake);
    s.onClose(() => unsubscribe());
    s.resetTimeout();
    // Catch up with anything that happened between the last command and now.
    wake();
    s.reader.lineMode(true);
    s.lineHandler = async (text) => {
      s.idleWake = undefined;
      unsubscribe();
      await pushing;
      s.reader.lineMode(false);
      if (text.trim().toUpperCase() === "DONE") s.out.line(`${cmd.tag} OK IDLE terminated`);
      else s.out.line(`${cmd.tag} BAD Expected DONE`);
      s.resetTimeout();
      s.releaseInput();
    };
    await s.out.flush();
    s.releaseInput();
  },
};
