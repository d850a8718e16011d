/**
 * The database schema (drizzle, SQLite dialect). Migrations are generated from this file
 * by `npm run db:generate` and embedded into the binary by scripts/embed-migrations.ts.
 * Times are epoch milliseconds in integer columns.
 */
import { blob, index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Small key/value facts about this database: UIDVALIDITY base, schema info. */
export const meta = sqliteTable("meta", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
});

export const domains = sqliteTable("domains", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
  /** null: the configured default retention */
  retentionDays: integer("retention_days"),
  /** "host:port" of the mail server releases go to; null: the default smarthost */
  route: text("route"),
  /** JSON object of per-domain options */
  options: text("options").notNull().default("{}"),
  createdAt: integer("created_at").notNull(),
});

export const accounts = sqliteTable(
  "accounts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: ["user", "domain", "admin"] }).notNull(),
    /** lower-cased login: an address (user), a domain name (domain) or the admin login */
    login: text("login").notNull().unique(),
    /** PHC string (scrypt); never plaintext */
    passwordHash: text("password_hash").notNull(),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    passwordChangedAt: integer("password_changed_at").notNull(),
  },
);

/** Extra addresses whose quarantine a user account also sees. */
export const aliases = sqliteTable(
  "aliases",
  {
    address: text("address").primaryKey(),
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
  },
  (t) => [index("aliases_account").on(t.accountId)],
);

/** Message bytes, stored once per content hash, with everything parsed from them at ingest. */
export const blobs = sqliteTable("blobs", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  sha256: text("sha256").notNull().unique(),
  rawSize: integer("raw_size").notNull(),
  /** the message and its listing data (ENVELOPE, BODYSTRUCTURE, BODY, MIME tree), one container (storage/codec.ts): compact, or plain until the word indexer compacts it */
  data: blob("data", { mode: "buffer" }).notNull(),
  /** decoded header fields for SEARCH */
  hFrom: text("h_from").notNull().default(""),
  hTo: text("h_to").notNull().default(""),
  hCc: text("h_cc").notNull().default(""),
  hBcc: text("h_bcc").notNull().default(""),
  hSubject: text("h_subject").notNull().default(""),
  hMessageId: text("h_message_id").notNull().default(""),
  hDate: integer("h_date"),
  /** the Date header's calendar day as written (days since 1970-01-01, its own time zone), for SENTSINCE & co. */
  hDateDay: integer("h_date_day"),
  createdAt: integer("created_at").notNull(),
});

/**
 * Blobs stored without their word-index entry yet (LMTP defers it to keep deliveries fast);
 * the word indexer (quarantine/word-index.ts) fills blob_text in batches and empties this, and
 * SEARCH TEXT/BODY catches it up first, so results never miss a message.
 */
export const wordIndexQueue = sqliteTable("word_index_queue", {
  blobId: integer("blob_id").primaryKey().references(() => blobs.id, { onDelete: "cascade" }),
});

export const MESSAGE_STATES = ["caught", "releasing", "released", "deleted", "expired"] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/** One row per (message, recipient). The row id is the IMAP UID in every view. */
export const messages = sqliteTable(
  "messages",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    blobId: integer("blob_id").notNull().references(() => blobs.id),
    direction: text("direction", { enum: ["in", "out"] }).notNull().default("in"),
    recipient: text("recipient").notNull(),
    recipientDomain: text("recipient_domain").notNull(),
    sender: text("sender").notNull().default(""),
    score: real("score"),
    reason: text("reason").notNull().default(""),
    state: text("state", { enum: MESSAGE_STATES }).notNull().default("caught"),
    /** INTERNALDATE */
    receivedAt: integer("received_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    /** MODSEQ of the last change to the row itself */
    modseq: integer("modseq").notNull(),
    rawSize: integer("raw_size").notNull(),
    /** last delivery error (SMTP reply) when a release failed permanently */
    lastError: text("last_error"),
    stateChangedAt: integer("state_changed_at"),
  },
  (t) => [
    index("messages_rcpt_state").on(t.recipient, t.state, t.direction),
    index("messages_domain_state").on(t.recipientDomain, t.state, t.direction),
    index("messages_state").on(t.state, t.direction),
    index("messages_expiry").on(t.state, t.expiresAt),
    index("messages_blob").on(t.blobId),
  ],
);

/** Per-account IMAP flags (bit set) and keywords on a quarantine row. */
export const messageFlags = sqliteTable(
  "message_flags",
  {
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    messageId: integer("message_id").notNull(),
    flags: integer("flags").notNull().default(0),
    keywords: text("keywords"),
    modseq: integer("modseq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.messageId] })],
);

/**
 * Every visible change, in one global order. `modseq` is the MODSEQ of CONDSTORE/QRESYNC and
 * the cursor sessions (in any process) follow to learn about other sessions' changes.
 */
export const changes = sqliteTable(
  "changes",
  {
    modseq: integer("modseq").primaryKey({ autoIncrement: true }),
    messageId: integer("message_id").notNull(),
    /** add: entered Caught; remove: left it; flags: an account's flags changed */
    kind: text("kind", { enum: ["add", "remove", "flags"] }).notNull(),
    recipient: text("recipient").notNull(),
    recipientDomain: text("recipient_domain").notNull(),
    direction: text("direction", { enum: ["in", "out"] }).notNull().default("in"),
    /** for kind=flags: whose flags */
    accountId: integer("account_id"),
    at: integer("at").notNull(),
  },
);

/** UIDNEXT per scope ("*", "d:<domain>", "r:<address>", with an "o|" prefix for outgoing): raised by ingest only. */
export const uidMarks = sqliteTable("uid_marks", {
  scope: text("scope").primaryKey(),
  uidNext: integer("uid_next").notNull(),
});

/** Folders an account has unsubscribed from (every folder starts subscribed). */
export const unsubscribed = sqliteTable(
  "unsubscribed",
  {
    accountId: integer("account_id").notNull().references(() => accounts.id, { onDelete: "cascade" }),
    folder: text("folder").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.folder] })],
);

export const audit = sqliteTable(
  "audit",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at").notNull(),
    /** login name, "system" for jobs, "api:<token name>" for the API */
    actor: text("actor").notNull(),
    actorKind: text("actor_kind").notNull(),
    clientAddr: text("client_addr"),
    /** login.ok, login.fail, release, release-train, not-spam, spam, delete, expire, ingest, release.failed, ... */
    action: text("action").notNull(),
    messageId: integer("message_id"),
    detail: text("detail").notNull().default("{}"),
  },
  (t) => [index("audit_at").on(t.at), index("audit_action").on(t.action, t.at), index("audit_message").on(t.messageId)],
);

/** Durable release queue: one row per release, leased by the delivery worker. */
export const outbox = sqliteTable(
  "outbox",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    messageId: integer("message_id").notNull().references(() => messages.id),
    state: text("state", { enum: ["pending", "done", "failed"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseUntil: integer("lease_until"),
    lastReply: text("last_reply"),
    requestedBy: text("requested_by").notNull(),
    train: integer("train", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("outbox_due").on(t.state, t.nextAttemptAt)],
);

/** Durable training reports, forwarded to the configured sink by the training worker. */
export const trainingReports = sqliteTable(
  "training_reports",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    kind: text("kind", { enum: ["spam", "ham"] }).notNull(),
    /** release-train, not-spam, spam, api */
    source: text("source").notNull(),
    accountId: integer("account_id"),
    actor: text("actor").notNull(),
    clientAddr: text("client_addr"),
    /** the quarantine row, when the reported message is (or was) quarantined */
    messageId: integer("message_id"),
    blobId: integer("blob_id").notNull().references(() => blobs.id),
    /** same kind + same blob trains once */
    dedupeKey: text("dedupe_key").notNull(),
    tenant: text("tenant").notNull(),
    state: text("state", { enum: ["pending", "done", "failed", "duplicate"] }).notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at").notNull(),
    leaseOwner: text("lease_owner"),
    leaseUntil: integer("lease_until"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("training_due").on(t.state, t.nextAttemptAt), index("training_dedupe").on(t.dedupeKey)],
);

/** Admin API bearer tokens (hashed), scoped to admin or one domain. */
export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    name: text("name").notNull().unique(),
    tokenHash: text("token_hash").notNull().unique(),
    /** "admin" or a domain name */
    scope: text("scope").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
  },
);

