import { readFileSync } from "node:fs";
import { headerAddress, SENDER_HEADERS } from "../quarantine/header-address.ts";
import { IngestError, ingestOne } from "../quarantine/ingest.ts";
import { isAddress, normalizeAddress } from "../quarantine/scope.ts";
import { configFrom, DATABASE_HELP, openFromConfig, parse, print, readStdin, requireKnownRecipient, UsageError } from "./context.ts";

export const help = `quarantined ingest --rcpt ADDR [--rcpt ADDR ...] [--sender ADDR] [--reason TEXT] [--score N]
                   [--outgoing | --training-requested] [FILE|-]

Quarantines one message (from FILE, or stdin) for each recipient and prints the new UIDs.
--sender: the envelope sender a release is sent with (default: the message's Return-Path, else
its From; --sender '' for none).
--outgoing: held outgoing mail (folder "Caught (Outgoing)", option imap.outgoingFolder).
--training-requested: a copy of an unsure message that was delivered, for the user to classify
(folder "Training Requested", option imap.trainingFolder); it is reported, never released.

${DATABASE_HELP}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    rcpt: { type: "string", multiple: true },
    sender: { type: "string" },
    reason: { type: "string" },
    score: { type: "string" },
    outgoing: { type: "boolean" },
    "training-requested": { type: "boolean" },
  });
  if (values.help) return print(help), 0;
  if (!values.rcpt?.length) throw new UsageError("--rcpt is required (one per recipient)");
  if (positionals.length > 1) throw new UsageError("one FILE at a time (use `import` for many)");
  const score = values.score === undefined ? null : Number(values.score);
  if (score !== null && !Number.isFinite(score)) throw new UsageError(`--score: expected a number, got ${JSON.stringify(values.score)}`);
  const file = positionals[0] ?? "-";
  let raw: Uint8Array;
  try {
    raw = file === "-" ? await readStdin() : readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  if (raw.length === 0) throw new UsageError("the message is empty");
  const config = configFrom(values);
  const store = await openFromConfig(config);
  try {
    // the same recipients LMTP accepts (a bad address is left to ingest's own check)
    for (const rcpt of values.rcpt.map(normalizeAddress)) if (isAddress(rcpt)) await requireKnownRecipient(store, rcpt);
    const r = await ingestOne(
      store,
      { raw, recipients: values.rcpt, sender: values.sender ?? headerAddress(raw, SENDER_HEADERS) ?? "", reason: values.reason, score, direction: values["training-requested"] ? "train" : values.outgoing ? "out" : "in" },
      { defaultRetentionDays: config.retention.defaultDays, actor: "cli", actorKind: "cli" },
    );
    print(`quarantined ${r.ids.length} row(s): UID ${r.ids.join(", ")}${r.duplicateBlob ? " (message already stored once)" : ""}`);
    return 0;
  } catch (e) {
    if (e instanceof IngestError) throw new UsageError(e.message);
    throw e;
  } finally {
    store.close();
  }
}
