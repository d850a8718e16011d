/** Longest piece of client input an error reply quotes. */
export const ECHO_MAX = 64;
/** Longest error message put on the wire, whatever built it. */
const MESSAGE_MAX = 200;

/**
 * Client input as an error reply may quote it: printable ASCII only (anything else, CR and LF
 * included, becomes "?") and at most ECHO_MAX characters, then "...". A reply never carries
 * kilobytes of what the client sent.
 */
export function clientText(s: string): string {
  return printable(s, ECHO_MAX);
}

function printable(s: string, max: number): string {
  const cut = s.length > max ? s.slice(0, max) : s;
  return cut.replace(/[^\x20-\x7e]/g, "?") + (cut.length < s.length ? "..." : "");
}

/**
 * The one error type of the protocol layer. The session answers it with
 * `tag BAD [code] message` (or `NO [BADCHARSET]` for SEARCH, as RFC 3501 §6.4.4 asks).
 * Messages that quote client input use clientText(); as a backstop the constructor keeps any
 * message to one line of printable ASCII, cut after MESSAGE_MAX characters.
 */
export class ProtocolError extends Error {
  /** Response code without brackets, e.g. "BADCHARSET", "TOOBIG". */
  code?: string;
  constructor(message: string, code?: string) {
    super(message.length > MESSAGE_MAX || /[^\x20-\x7e]/.test(message) ? printable(message, MESSAGE_MAX) : message);
    this.name = "ProtocolError";
    if (code !== undefined) this.code = code;
  }
}
