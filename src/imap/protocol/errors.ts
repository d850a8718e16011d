/**
 * The one error type of the protocol layer. The session answers it with
 * `tag BAD [code] message` (or `NO [BADCHARSET]` for SEARCH, as RFC 3501 §6.4.4 asks).
 */
export class ProtocolError extends Error {
  /** Response code without brackets, e.g. "BADCHARSET", "TOOBIG". */
  code?: string;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "ProtocolError";
    if (code !== undefined) this.code = code;
  }
}
