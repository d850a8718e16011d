/**
 * Migrating an existing quarantine: a Maildir (cur/ and new/), an mbox file, or a directory of
 * .eml files. Messages go through the normal ingest path in batches (one transaction each),
 * with CPU work for the next batch done while the previous one commits.
 */
import { lstatSync, readdirSync, readFileSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { IngestError, ingestPrepared, quarantinedFor, type IngestItem, type Prepared } from "../quarantine/ingest.ts";
import { headerAddress, SENDER_HEADERS } from "../quarantine/header-address.ts";
import { PreparePool } from "../quarantine/prepare-pool.ts";
import { isKnownRecipient } from "../quarantine/accounts.ts";
import { domainOf, isAddress, normalizeAddress } from "../quarantine/scope.ts";
import { configFrom, DATABASE_HELP, noDomain, openFromConfig, parse, print, requireKnownRecipient, UsageError } from "./context.ts";

export const help = `quarantined import PATH [--rcpt ADDR | --rcpt-header NAME] [--sender-header NAME] [--batch N] [--quiet]

PATH is a Maildir (with cur/ and new/), an mbox file, or a directory of .eml files. A message
already quarantined for its recipient (the same content, in any state) is skipped, so running
an import again adds only what is new.
Recipient rule: --rcpt gives every message one recipient; otherwise the first address found in
--rcpt-header (default: Delivered-To, X-Original-To, then To). INTERNALDATE is the file's mtime
for Maildir and .eml files, the "From " line date for mbox, else the Date header.

${DATABASE_HELP}`;

interface Source {
  name: string;
  read(): Uint8Array;
  date?: number;
  /** why this entry is not read (not a regular file); counted as skipped */
  skip?: string;
}

/**
 * A directory entry as a source: only regular files are read. Symbolic links are not followed
 * (a link in a Maildir writable by the filter could point at any file the importing user, often
 * root, can read), and FIFOs, sockets and directories would hang or fail the import.
 */
function entrySource(path: string, e: Dirent): Source {
  const read = () => readFileSync(path);
  if (!e.isFile()) {
    const kind = e.isSymbolicLink() ? "a symbolic link" : e.isDirectory() ? "a directory" : e.isFIFO() ? "a FIFO" : "not a regular file";
    return { name: path, read, skip: `${kind}, not read` };
  }
  let date: number | undefined;
  try {
    date = lstatSync(path).mtimeMs;
  } catch {
    // gone since the listing: read() reports it
  }
  return { name: path, read, date };
}

function listSources(path: string): Source[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path} does not exist`);
  }
  if (st.isFile()) return mboxSources(path);
  const isMaildir = ["cur", "new"].some((d) => {
    try {
      return statSync(join(path, d)).isDirectory();
    } catch {
      return false;
    }
  });
  const sources: Source[] = [];
  const entries = (dir: string) => readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  if (isMaildir) {
    for (const d of ["cur", "new"]) {
      let list: Dirent[];
      try {
        list = entries(join(path, d));
      } catch {
        continue; // a Maildir may lack new/
      }
      for (const e of list) if (!e.name.startsWith(".")) sources.push(entrySource(join(path, d, e.name), e));
    }
  } else {
    const walk = (dir: string) => {
      for (const e of entries(dir)) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p); // real directories only: a link to one is not followed
        else if (/\.(eml|msg)$/i.test(e.name)) sources.push(entrySource(p, e));
      }
    };
    walk(path);
  }
  return sources;
}

/** Splits an mbox at "From " lines (mboxrd: un-escapes ">From "). */
function mboxSources(path: string): Source[] {
  const text = readFileSync(path, "latin1");
  const out: Source[] = [];
  const re = /^From [^\n]*\n/gm;
  const starts: { at: number; body: number; line: string }[] = [];
  for (let m; (m = re.exec(text)); ) starts.push({ at: m.index, body: m.index + m[0].length, line: m[0] });
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1].at : text.length;
    const body = text.slice(s.body, end).replace(/\n$/, "").replace(/^>(>*From )/gm, "$1");
    const d = Date.parse(s.line.replace(/^From \S+\s+/, "").trim());
    out.push({ name: `${path}#${i + 1}`, read: () => Buffer.from(body, "latin1"), date: Number.isFinite(d) ? d : undefined });
  });
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    rcpt: { type: "string" },
    "rcpt-header": { type: "string" },
    "sender-header": { type: "string" },
    batch: { type: "string" },
    quiet: { type: "boolean" },
  });
  if (values.help) return print(help), 0;
  if (positionals.length !== 1) throw new UsageError("PATH is required (a Maildir, an mbox file or a directory of .eml files)");
  if (values.rcpt && !isAddress(normalizeAddress(values.rcpt))) throw new UsageError(`--rcpt: not an email address: ${JSON.stringify(values.rcpt)}`);
  const batchSize = values.batch ? Number(values.batch) : 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000) throw new UsageError("--batch: expected a whole number from 1 to 5000");
  const rcptHeaders = values["rcpt-header"] ? [values["rcpt-header"]] : ["Delivered-To", "X-Original-To", "To"];
  const senderHeaders = values["sender-header"] ? [values["sender-header"]] : SENDER_HEADERS;
  const config = configFrom(values);
  const sources = listSources(positionals[0]);
  // The prepare workers boot (load their modules) while the store opens.
  const pool = new PreparePool();
  let store: Awaited<ReturnType<typeof openFromConfig>> | undefined;
  try {
    store = await openFromConfig(config);
    if (values.rcpt) await requireKnownRecipient(store, normalizeAddress(values.rcpt));
  } catch (e) {
    pool.close();
    store?.close();
    throw e;
  }
  // Messages for recipients nothing quarantines for (LMTP's 550s) are skipped, counted by domain.
  const known = new Map<string, boolean>();
  const unknownDomains = new Map<string, number>();
  const started = performance.now();
  let done = 0;
  let rows = 0;
  let skipped = 0;
  // of the skipped: those quarantined for their recipient already (a second run over the same source)
  let duplicates = 0;
  let lastProgress = started;
  const progress = (final = false) => {
    const s = (performance.now() - started) / 1000;
    const line = `imported ${done}/${sources.length} messages (${rows} rows, ${skipped} skipped) in ${s.toFixed(1)} s, ${(done / Math.max(s, 0.001)).toFixed(0)} msg/s`;
    if (!values.quiet || final) process.stderr.write(final ? line + "\n" : "\r" + line);
  };
  const readBatch = (batch: Source[]) => {
    const items: IngestItem[] = [];
    const names: string[] = [];
    const skip = (name: string, why: string) => {
      skipped++;
      process.stderr.write(`\nskipped ${name}: ${why}\n`);
    };
    for (const src of batch) {
      if (src.skip) {
        skip(src.name, src.skip);
        continue;
      }
      let raw: Uint8Array;
      try {
        raw = src.read();
      } catch (e) {
        skip(src.name, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        continue;
      }
      if (raw.length === 0) {
        skip(src.name, "empty");
        continue;
      }
      const rcpt = values.rcpt ?? headerAddress(raw, rcptHeaders);
      if (!rcpt) {
        skip(src.name, "no recipient (use --rcpt or --rcpt-header)");
        continue;
      }
      items.push({ raw, recipients: [rcpt], sender: headerAddress(raw, senderHeaders) ?? "", receivedAt: src.date ? Math.floor(src.date) : undefined });
      names.push(src.name);
    }
    return { items, names };
  };
  try {
    // Pipeline: workers prepare batch k+1 while the main thread writes batch k.
    // Files are read one batch ahead, never all at once.
    const schedule = (start: number) => {
      if (start >= sources.length) return undefined;
      const batch = readBatch(sources.slice(start, start + batchSize));
      return { names: batch.names, results: pool.prepare(batch.items) };
    };
    // Two batches in flight, so the workers never wait for the main thread's commit.
    const ahead = [schedule(0), schedule(batchSize)];
    for (let start = 0; ahead[0]; start += batchSize) {
      const current = ahead.shift()!;
      const results = await current.results;
      ahead.push(schedule(start + 2 * batchSize));
      const prepared: Prepared[] = [];
      const have = await quarantinedFor(store, results.flatMap((r) => (r instanceof IngestError ? [] : [r.sha256])));
      for (let j = 0; j < results.length; j++) {
        const r = results[j];
        if (r instanceof IngestError) {
          skipped++;
          process.stderr.write(`\nskipped ${current.names[j]}: ${r.message}\n`);
          continue;
        }
        const rcpt = r.recipients[0];
        let ok = known.get(rcpt);
        if (ok === undefined) known.set(rcpt, (ok = await isKnownRecipient(store, rcpt)));
        if (!ok) {
          skipped++;
          unknownDomains.set(domainOf(rcpt), (unknownDomains.get(domainOf(rcpt)) ?? 0) + 1);
        } else if (have.has(`${r.sha256} ${rcpt}`)) {
          skipped++;
          duplicates++;
        } else {
          have.add(`${r.sha256} ${rcpt}`); // the same message twice in this batch
          prepared.push(r);
        }
      }
      const r = await ingestPrepared(store, prepared, { defaultRetentionDays: config.retention.defaultDays, actor: "import", actorKind: "cli" });
      done += prepared.length;
      rows += r.reduce((n, x) => n + x.ids.length, 0);
      if (performance.now() - lastProgress > 1000) {
        lastProgress = performance.now();
        progress();
      }
    }
    // Fold the write-ahead log into the database file after a bulk load (and give the space back).
    await store.client.execute("PRAGMA wal_checkpoint(TRUNCATE)").catch(() => {});
    for (const [domain, n] of unknownDomains) process.stderr.write(`\nskipped ${n} message(s): ${noDomain(domain)}\n`);
    if (duplicates) process.stderr.write(`\nskipped ${duplicates} message(s) already quarantined for their recipient\n`);
    progress(true);
    if (!values.quiet) process.stderr.write(`(${(await pool.workersReady()) || "no"} prepare workers)\n`);
    // nothing imported because nothing could be: a failure (all of it there already is not)
    return skipped > duplicates && done === 0 ? 1 : 0;
  } finally {
    pool.close();
    store.close();
  }
}
