/**
 * LIST / LSUB / STATUS arguments (RFC 3501, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154).
 *
 *   LIST "" "*"
 *   LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Junk/%") RETURN (CHILDREN STATUS (MESSAGES UNSEEN))
 *   STATUS Junk (MESSAGES UIDNEXT UIDVALIDITY)
 *
 * Names come back as sent (UTF-8 decoded); mUTF-7 decoding is the caller's, as it depends on UTF8=ACCEPT.
 */
import { clientText, ProtocolError } from "./errors.ts";
import { astring } from "./encode.ts";
import type { Token } from "./tokens.ts";

export interface ListArgs {
  reference: string;
  patterns: string[];
  selection: string[];
  returnOpts: { subscribed?: boolean; children?: boolean; specialUse?: boolean; status?: string[] };
}

const SELECTION = new Set(["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]);
const STATUS_ITEMS = new Set([
  "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED", "APPENDLIMIT",
]);

function atomName(tok: Token): string {
  if (tok.t !== "atom") throw new ProtocolError("Expected an option name");
  return tok.v.toUpperCase();
}

export function parseListArgs(args: Token[]): ListArgs {
  let i = 0;
  const selection: string[] = [];
  if (args[0]?.t === "list") {
    for (const t of args[0].v) {
      const name = atomName(t);
      // RFC 5258 §3: unknown selection options are a BAD.
      if (!SELECTION.has(name)) throw new ProtocolError(`Unknown LIST selection option ${clientText(name)}`);
      selection.push(name);
    }
    if (selection.includes("RECURSIVEMATCH") && selection.length === 1) {
      throw new ProtocolError("RECURSIVEMATCH needs another selection option");
    }
    i = 1;
  }
  const reference = astring(args[i]);
  const pat = args[i + 1];
  if (!pat) throw new ProtocolError("Missing mailbox pattern");
  const patterns = pat.t === "list" ? pat.v.map((t) => astring(t)) : [astring(pat)];
  if (patterns.length === 0) throw new ProtocolError("Empty pattern list");
  const returnOpts: ListArgs["returnOpts"] = {};
  i += 2;
  if (i < args.length) {
    const ret = args[i + 1];
    if (args[i].t !== "atom" || atomName(args[i]) !== "RETURN" || !ret || ret.t !== "list" || i + 2 !== args.length) {
      throw new ProtocolError("Invalid LIST arguments");
    }
    for (let j = 0; j < ret.v.length; j++) {
      const name = atomName(ret.v[j]);
      if (name === "SUBSCRIBED") returnOpts.subscribed = true;
      else if (name === "CHILDREN") returnOpts.children = true;
      else if (name === "SPECIAL-USE") returnOpts.specialUse = true;
      else if (name === "STATUS") {
        const items = ret.v[++j];
        if (!items) throw new ProtocolError("STATUS needs a list");
        returnOpts.status = parseStatusItems(items);
      } else throw new ProtocolError(`Unknown LIST return option ${clientText(name)}`);
    }
  }
  return { reference, patterns, selection, returnOpts };
}

export function parseStatusItems(tokens: Token): string[] {
  if (tokens.t !== "list" || tokens.v.length === 0) throw new ProtocolError("Expected a list of status items");
  return tokens.v.map((t) => {
    const name = atomName(t);
    if (!STATUS_ITEMS.has(name)) throw new ProtocolError(`Unknown status item ${clientText(name)}`);
    return name;
  });
}

/** INBOX is case-insensitive as a whole first level ("inbox", "Inbox/x"); everything else is case-sensitive. */
function canonInbox(s: string, delimiter: string): string {
  if (s.length >= 5 && s.slice(0, 5).toUpperCase() === "INBOX" && (s.length === 5 || s.startsWith(delimiter, 5))) {
    return "INBOX" + s.slice(5);
  }
  return s;
}

/** LIST wildcard match: "*" matches anything, "%" anything but the delimiter. O(pattern × name), no backtracking blow-up. */
export function listMatch(pattern: string, name: string, delimiter: string): boolean {
  const p = canonInbox(pattern, delimiter);
  const n = canonInbox(name, delimiter);
  // prev[j]: p[0..i) matches n[0..j)
  let prev = new Array<boolean>(n.length + 1).fill(false);
  prev[0] = true;
  for (let i = 0; i < p.length; i++) {
    const pc = p[i];
    const cur = new Array<boolean>(n.length + 1).fill(false);
    if (pc === "*" || pc === "%") {
      cur[0] = prev[0];
      for (let j = 1; j <= n.length; j++) {
        cur[j] = prev[j] || (cur[j - 1] && (pc === "*" || n[j - 1] !== delimiter));
      }
    } else {
      for (let j = 1; j <= n.length; j++) cur[j] = prev[j - 1] && n[j - 1] === pc;
    }
    prev = cur;
  }
  return prev[n.length];
}
