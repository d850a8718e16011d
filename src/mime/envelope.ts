// ENVELOPE collection and serialization, as Dovecot's message_part_envelope_parse_from_header()
// and imap_envelope_write(): strings keep the last occurrence, address headers are merged.
import { type Address, parseAddresses } from "./address.ts";
import { forHumans, nstring, nstringNolf } from "./quote.ts";

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

export const newEnvelope = (): Envelope => ({
  date: null, subject: null, from: null, sender: null, replyTo: null,
  to: null, cc: null, bcc: null, inReplyTo: null, messageId: null,
});

const ADDR: Record<string, "from" | "sender" | "replyTo" | "to" | "cc" | "bcc"> = {
  from: "from", sender: "sender", "reply-to": "replyTo", to: "to", cc: "cc", bcc: "bcc",
};
const STR: Record<string, "date" | "subject" | "inReplyTo" | "messageId"> = {
  date: "date", subject: "subject", "in-reply-to": "inReplyTo", "message-id": "messageId",
};

export function isEnvelopeField(name: string): boolean {
  return name in ADDR || name in STR;
}

/** value: the full value as a binary string */
export function envelopeAdd(env: Envelope, name: string, value: string): void {
  const a = ADDR[name];
  if (a !== undefined) {
    const list = parseAddresses(value);
    if (list.length === 0) return; // Dovecot keeps NULL (so Sender/Reply-To still default to From)
    const cur = env[a];
    if (cur === null) env[a] = list;
    else for (const x of list) cur.push(x);
    return;
  }
  const s = STR[name];
  if (s !== undefined) env[s] = value.replace(/\0/g, "\xef\xbf\xbd"); // message_header_strdup
}

function addresses(list: Address[] | null): string {
  if (list === null || list.length === 0) return "NIL";
  let out = "(";
  for (const a of list) {
    out += "(" + (a.name === null ? "NIL" : forHumans(a.name)) + " " + nstring(a.route) + " " +
      nstring(a.mailbox) + " " + nstring(a.domain) + ")";
  }
  return out + ")";
}

/** without the surrounding parentheses; binary string */
export function writeEnvelope(e: Envelope | null): string {
  if (e === null) return "NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL";
  return nstringNolf(e.date) + " " + (e.subject === null ? "NIL" : forHumans(e.subject)) + " " +
    addresses(e.from) + " " + addresses(e.sender ?? e.from) + " " + addresses(e.replyTo ?? e.from) + " " +
    addresses(e.to) + " " + addresses(e.cc) + " " + addresses(e.bcc) + " " +
    nstringNolf(e.inReplyTo) + " " + nstringNolf(e.messageId);
}
