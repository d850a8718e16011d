import type { Token } from "../protocol/index.ts";
import { astring, decodeMutf7, ProtocolError } from "../protocol/index.ts";
import type { ImapSession, SessionState } from "../session/session.ts";

export interface CommandEvent {
  tag: string;
  name: string;
  args: Token[];
  uid?: boolean;
}

export interface CommandResult {
  status: "OK" | "NO" | "BAD";
  code?: string;
  text: string;
  /** skip the untagged folder update before the tagged reply */
  noSync?: boolean;
}

export interface CommandSpec {
  names: string[];
  states: SessionState[];
  /** accepts the UID prefix */
  uid?: boolean;
  /** EXPUNGE responses may be sent while it runs (RFC 3501 §7.4.1: not for FETCH, STORE, SEARCH) */
  allowsExpunge?: boolean;
  /** returns the tagged result, or nothing when it wrote its own */
  run(s: ImapSession, cmd: CommandEvent): Promise<CommandResult | void>;
}

export const ok = (text: string, code?: string): CommandResult => ({ status: "OK", text, code });
export const no = (text: string, code?: string): CommandResult => ({ status: "NO", text, code });
export const bad = (text: string, code?: string): CommandResult => ({ status: "BAD", text, code });

export function expectArgs(cmd: CommandEvent, min: number, max = min): void {
  if (cmd.args.length < min) throw new ProtocolError(`${cmd.name}: missing arguments`);
  if (cmd.args.length > max) throw new ProtocolError(`${cmd.name}: too many arguments`);
}

/** A mailbox name argument: mUTF-7 decoded for IMAP4rev1 sessions. */
export function mailboxArg(tok: Token | undefined): string {
  const raw = astring(tok);
  try {
    return decodeMutf7(raw);
  } catch {
    return raw;
  }
}
