/**
 * valibot schemas of the admin API: they validate every request and are converted into the
 * OpenAPI document (openapi.ts). Query-string fields are strings on the wire, so their
 * schemas check the text and then transform it; the documented type is the wire type.
 */
import * as v from "valibot";
import { routeString } from "../config/schema.ts";
import { isAddress, isDomainName } from "../quarantine/scope.ts";
import { MESSAGE_STATES } from "../storage/schema.ts";

/** ISO 8601 date or date-time, or epoch milliseconds → epoch ms. */
export function parseWhen(s: string): number | null {
  if (/^\d{1,15}$/.test(s)) return Number(s);
  const m = /^(\d{4})-(\d{2})-(\d{2})([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (!m) return null;
  // Date.parse rolls 2026-02-31 over to 3 March: a day the month does not have is refused
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

const whenText = "an ISO 8601 date/date-time or epoch milliseconds";

/**
 * Control characters (C0 and DEL) are refused in every string the API takes. SQLite's binding
 * cuts a text parameter at its first NUL, so a filter of "\u0000anything" became LIKE '%' and
 * matched every row; CR/LF in an envelope sender would be sent on the SMTP wire. TAB is kept
 * where free text may carry it (a subject, a reason, a password).
 */
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_BUT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f]/;
export const hasControl = (s: string, allowTab = false): boolean => (allowTab ? CONTROL_BUT_TAB : CONTROL).test(s);
const CONTROL_MESSAGE = "control characters (such as NUL, CR, LF) are not allowed";

/** A string without control characters: the base of every request string in this file. */
export const str = () => v.pipe(v.string(), v.check((s: string) => !hasControl(s), CONTROL_MESSAGE));
/** The same, allowing TAB (free text). */
export const freeText = () => v.pipe(v.string(), v.check((s: string) => !hasControl(s, true), CONTROL_MESSAGE));

export const qInt = (min: number, max: number, description = "a whole number") =>
  v.pipe(
    str(),
    v.regex(/^\d{1,16}$/, "expected a whole number"),
    v.description(description),
    v.transform(Number),
    v.number(),
    v.minValue(min, `expected at least ${min}`),
    v.maxValue(max, `expected at most ${max}`),
  );

export const qNumber = (description = "a number") =>
  v.pipe(str(), v.regex(/^-?\d{1,9}(\.\d{1,6})?$/, "expected a number"), v.description(description), v.transform(Number));

export const qWhen = (description: string) =>
  v.pipe(str(), v.check((s) => parseWhen(s) !== null, `expected ${whenText}`), v.description(`${description} (${whenText})`), v.transform((s) => parseWhen(s)!));

export const email = v.pipe(str(), v.maxLength(254), v.check(isAddress, "expected an email address"));
export const domainName = v.pipe(str(), v.maxLength(253), v.check(isDomainName, "expected a domain name"));
const shortText = (max: number, description: string) => v.pipe(freeText(), v.minLength(1), v.maxLength(max), v.description(description));

export const stateFilter = v.picklist([...MESSAGE_STATES, "any"]);
export const direction = v.picklist(["in", "out"]);

/* ---------- path parameters ---------- */

export const idParams = v.object({ id: qInt(1, Number.MAX_SAFE_INTEGER, "quarantine row id (the IMAP UID)") });
export const domainParams = v.object({ name: domainName });
export const loginParams = v.object({ login: v.pipe(str(), v.minLength(1), v.maxLength(254)) });

/* ---------- quarantine search ---------- */

const filterQueryEntries = {
  recipient: v.optional(email),
  domain: v.optional(domainName),
  sender: v.optional(shortText(320, "substring of the envelope sender, case-insensitive")),
  subject: v.optional(shortText(500, "substring of the decoded Subject, case-insensitive")),
  reason: v.optional(shortText(500, "substring of the filter's reason, case-insensitive")),
  scoreMin: v.optional(qNumber("lowest spam score, inclusive")),
  scoreMax: v.optional(qNumber("highest spam score, inclusive")),
  since: v.optional(qWhen("received at or after")),
  until: v.optional(qWhen("received before")),
  state: v.optional(stateFilter, "caught"),
  direction: v.optional(direction),
};

export const messageListQuery = v.strictObject({
  ...filterQueryEntries,
  limit: v.optional(qInt(1, 500, "page size (default 50)")),
  cursor: v.optional(v.pipe(str(), v.maxLength(100), v.description("nextCursor of the previous page"))),
  order: v.optional(v.picklist(["desc", "asc"]), "desc"),
});

const jsonWhen = v.pipe(str(), v.check((s) => parseWhen(s) !== null, `expected ${whenText}`), v.transform((s) => parseWhen(s)!));

export const jsonFilter = v.strictObject({
  recipient: v.optional(email),
  domain: v.optional(domainName),
  sender: v.optional(shortText(320, "substring of the envelope sender")),
  subject: v.optional(shortText(500, "substring of the Subject")),
  reason: v.optional(shortText(500, "substring of the reason")),
  scoreMin: v.optional(v.pipe(v.number(), v.finite())),
  scoreMax: v.optional(v.pipe(v.number(), v.finite())),
  since: v.optional(jsonWhen),
  until: v.optional(jsonWhen),
  direction: v.optional(direction),
});

export const bulkBody = v.strictObject({
  filter: v.optional(jsonFilter, {}),
  ids: v.optional(v.pipe(v.array(v.pipe(v.number(), v.integer(), v.minValue(1))), v.minLength(1), v.maxLength(10000))),
  max: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10000)), 1000),
  dryRun: v.optional(v.boolean(), false),
});

export const ingestQuery = v.strictObject({
  recipient: v.pipe(
    v.union([email, v.pipe(v.array(email), v.minLength(1), v.maxLength(1000))]),
    v.description("envelope recipient; repeat the parameter for several"),
    v.transform((r) => (Array.isArray(r) ? r : [r])),
  ),
  sender: v.optional(v.pipe(str(), v.maxLength(320), v.description("envelope sender (may be empty for bounces)"))),
  score: v.optional(qNumber("the filter's spam score")),
  reason: v.optional(shortText(1000, "why it was quarantined (symbols, rule names)")),
  direction: v.optional(direction, "in"),
  receivedAt: v.optional(qWhen("INTERNALDATE; default now")),
});

/* ---------- domains and accounts ---------- */

const retention = v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(3650), v.description("days; null: the configured default")));
const route = v.nullable(v.pipe(routeString, v.description("HOST[:PORT] released mail for this domain goes to; null: the default smarthost. Set by admin-scoped tokens only")));

/**
 * Per-domain SMTP overrides used when the domain has a route (delivery/smtp.ts resolveRoute).
 * Every one of them is a server-side connection setting or file path: operator tokens only
 * (OPERATOR_ONLY_OPTIONS, enforced in api.ts).
 */
const smtpOptions = v.strictObject({
  secure: v.optional(v.boolean()),
  starttls: v.optional(v.picklist(["required", "opportunistic", "off"])),
  user: v.optional(v.pipe(str(), v.maxLength(320))),
  password: v.optional(v.pipe(freeText(), v.maxLength(1024))),
  caFile: v.optional(v.pipe(str(), v.minLength(1), v.maxLength(4096), v.description("PEM file the server reads; a regular file of at most 1 MiB"))),
  rejectUnauthorized: v.optional(v.boolean()),
});

/** Keys of a domain's options only an operator (admin-scoped token) may set or change. */
export const OPERATOR_ONLY_OPTIONS = ["smtp"] as const;

const MAX_OPTIONS_DEPTH = 16;

/** Free-form option values: JSON without control characters in keys or strings, at most 16 levels deep. */
function problemInJson(value: unknown, depth = 0): string | null {
  if (depth > MAX_OPTIONS_DEPTH) return `nested deeper than ${MAX_OPTIONS_DEPTH} levels`;
  if (typeof value === "string") return hasControl(value, true) ? CONTROL_MESSAGE : null;
  if (typeof value === "number") return Number.isFinite(value) ? null : "expected a finite number";
  if (value === null || typeof value === "boolean") return null;
  if (Array.isArray(value)) {
    for (const x of value) {
      const p = problemInJson(x, depth + 1);
      if (p) return p;
    }
    return null;
  }
  if (typeof value === "object") {
    for (const [k, x] of Object.entries(value as Record<string, unknown>)) {
      if (hasControl(k)) return CONTROL_MESSAGE;
      const p = problemInJson(x, depth + 1);
      if (p) return p;
    }
    return null;
  }
  return "expected JSON";
}

const options = v.pipe(
  v.looseObject({ smtp: v.optional(smtpOptions) }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [k, x] of Object.entries(dataset.value)) {
      const p = hasControl(k) ? CONTROL_MESSAGE : problemInJson(x, 1);
      if (p) addIssue({ message: p, path: [{ type: "object", origin: "value", input: dataset.value, key: k, value: x }] });
    }
  }),
  v.description('per-domain settings; "smtp" ({secure, starttls, user, password, caFile, rejectUnauthorized}) needs an admin-scoped token'),
);

export const domainCreate = v.strictObject({ name: domainName, retentionDays: v.optional(retention), route: v.optional(route), options: v.optional(options) });
export const domainPatch = v.strictObject({ retentionDays: v.optional(retention), route: v.optional(route), options: v.optional(options) });

const password = v.pipe(freeText(), v.minLength(8, "expected at least 8 characters"), v.maxLength(1024, "expected at most 1024 characters"));
export const accountKind = v.picklist(["user", "domain", "admin"]);
export const accountCreate = v.strictObject({
  login: v.pipe(str(), v.minLength(1), v.maxLength(254), v.description("an address (user), a domain name (domain) or an admin login")),
  kind: v.optional(accountKind),
  password: v.optional(v.pipe(password, v.description("omit to have one generated and returned once"))),
});
export const passwordBody = v.strictObject({ password: v.optional(v.pipe(password, v.description("omit to have one generated and returned once"))) });
export const accountListQuery = v.strictObject({ kind: v.optional(accountKind), domain: v.optional(domainName) });

/* ---------- queues and audit ---------- */

export const outboxQuery = v.strictObject({
  state: v.optional(v.picklist(["pending", "done", "failed"])),
  limit: v.optional(qInt(1, 500, "page size (default 50)")),
  cursor: v.optional(qInt(1, Number.MAX_SAFE_INTEGER, "nextCursor of the previous page")),
});
export const trainingQuery = v.strictObject({
  state: v.optional(v.picklist(["pending", "done", "failed", "duplicate"])),
  kind: v.optional(v.picklist(["spam", "ham"])),
  limit: v.optional(qInt(1, 500, "page size (default 50)")),
  cursor: v.optional(qInt(1, Number.MAX_SAFE_INTEGER, "nextCursor of the previous page")),
});
export const auditQuery = v.strictObject({
  action: v.optional(v.pipe(str(), v.regex(/^[a-z.*-]{1,64}$/, "expected an action name, optionally ending in *"), v.description("exact action, or a prefix ending in * (release*)"))),
  actor: v.optional(v.pipe(str(), v.maxLength(300))),
  messageId: v.optional(qInt(1, Number.MAX_SAFE_INTEGER, "quarantine row id")),
  since: v.optional(qWhen("at or after")),
  until: v.optional(qWhen("before")),
  limit: v.optional(qInt(1, 1000, "page size (default 100)")),
  cursor: v.optional(qInt(1, Number.MAX_SAFE_INTEGER, "nextCursor of the previous page")),
});

/* ---------- responses (documentation) ---------- */

const isoTime = v.pipe(v.string(), v.isoTimestamp());
export const messageMeta = v.object({
  id: v.number(),
  direction,
  recipient: v.string(),
  domain: v.string(),
  sender: v.string(),
  subject: v.string(),
  from: v.string(),
  messageId: v.string(),
  date: v.nullable(isoTime),
  score: v.nullable(v.number()),
  reason: v.string(),
  state: v.picklist(MESSAGE_STATES),
  receivedAt: isoTime,
  expiresAt: isoTime,
  size: v.number(),
  lastError: v.nullable(v.string()),
  stateChangedAt: v.nullable(isoTime),
});
export const messagePage = v.object({ items: v.array(messageMeta), nextCursor: v.nullable(v.string()) });
export const domainOut = v.object({ name: v.string(), retentionDays: v.nullable(v.number()), route: v.nullable(v.string()), options: v.record(v.string(), v.unknown()), createdAt: isoTime });
export const accountOut = v.object({ id: v.number(), kind: accountKind, login: v.string(), disabled: v.optional(v.boolean()), createdAt: isoTime, password: v.optional(v.string()) });
export const actionResult = v.object({ matched: v.number(), acted: v.array(v.number()), truncated: v.optional(v.boolean()), dryRun: v.optional(v.boolean()) });
export const ingestResult = v.object({ ids: v.array(v.number()), blobId: v.number(), duplicateBlob: v.boolean() });
const queueSummary = v.object({ byState: v.record(v.string(), v.number()), oldestPendingSeconds: v.number() });
export const queuePage = v.object({ summary: queueSummary, items: v.array(v.record(v.string(), v.unknown())), nextCursor: v.nullable(v.string()) });
export const auditPage = v.object({ items: v.array(v.record(v.string(), v.unknown())), nextCursor: v.nullable(v.string()) });
export const problemSchema = v.object({
  type: v.string(),
  title: v.string(),
  status: v.number(),
  detail: v.optional(v.string()),
  errors: v.optional(v.array(v.object({ path: v.string(), in: v.string(), message: v.string() }))),
});
