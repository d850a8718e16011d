import { CommandReader, type ReaderEvent, type ReaderLimits, type Token } from "../../../../src/imap/protocol/index.ts";

export const enc = new TextEncoder();
export const dec = new TextDecoder();

export const LIMITS: ReaderLimits = { maxLineBytes: 1000, maxLiteralBytes: 5000, maxCommandBytes: 20000, maxDepth: 8 };

/** Events as plain JSON-able values (Uint8Array → text) so deepEqual compares them readably. */
export function plain(ev: ReaderEvent[]): unknown[] {
  return ev.map((e) => (e.kind === "command" ? { ...e, args: e.args.map(tokText) } : e));
}

export function tokText(t: Token): unknown {
  if (t.t === "atom") return t.v;
  if (t.t === "string") return { [t.literal ? "lit" : "str"]: dec.decode(t.v) };
  return t.v.map(tokText);
}

export function reader(opts: { literalPlus?: boolean } = {}, limits: ReaderLimits = LIMITS): CommandReader {
  return new CommandReader(limits, opts);
}

/** Feed everything, then keep pushing empty chunks while the reader pauses with data buffered. */
export function feed(r: CommandReader, chunks: (string | Uint8Array)[]): ReaderEvent[] {
  const out: ReaderEvent[] = [];
  for (const c of chunks) out.push(...r.push(typeof c === "string" ? enc.encode(c) : c));
  return out;
}

export function bytewise(s: string | Uint8Array): Uint8Array[] {
  const b = typeof s === "string" ? enc.encode(s) : s;
  return Array.from(b, (x) => Uint8Array.of(x));
}

/** Parse one command line with a fresh reader and return its args as tokens. */
export function args(line: string): Token[] {
  const ev = reader({ literalPlus: true }).push(enc.encode(`t ${line}\r\n`));
  const cmd = ev.find((e) => e.kind === "command");
  if (!cmd || cmd.kind !== "command") throw new Error(`no command from ${line}: ${JSON.stringify(ev)}`);
  return cmd.args;
}
