/**
 * The one configuration schema. Every source (JSON file, environment, flags) is merged into
 * a plain object first and validated here, so an unknown or bad key is reported the same
 * way whatever its source: one line naming the key (see load.ts).
 */
import * as v from "valibot";

const port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const host = v.pipe(v.string(), v.minLength(1));

const listener = (defaultPort: number, enabled: boolean) =>
  v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), enabled),
      host: v.optional(host),
      port: v.optional(port, defaultPort),
    }),
    {},
  );

/** "host:port" or "[v6]:port"; the port defaults to 25. */
export const routeString = v.pipe(
  v.string(),
  v.regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, "expected HOST or HOST:PORT"),
  // checked here, not at delivery: a bad port would only show as releases retried for days
  v.check((s) => {
    const port = /:(\d+)$/.exec(s)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, "expected a port from 1 to 65535"),
);

const smtpRoute = v.strictObject({
  host: host,
  port: v.optional(port, 25),
  /** implicit TLS (smtps) */
  secure: v.optional(v.boolean(), false),
  /** "required": fail unless STARTTLS works; "opportunistic": use it when offered; "off": never */
  starttls: v.optional(v.picklist(["required", "opportunistic", "off"]), "opportunistic"),
  user: v.optional(v.string()),
  password: v.optional(v.string()),
  caFile: v.optional(v.string()),
  rejectUnauthorized: v.optional(v.boolean(), true),
});

export const configSchema = v.strictObject({
  dataDir: v.optional(v.string(), "./data"),
  /** address every listener binds to unless it names its own */
  host: v.optional(host, "0.0.0.0"),
  /** name the certificate is made for and clients are told to use */
  hostname: v.optional(host, "localhost"),
  imap: v.optional(
    v.strictObject({
      implicitTls: listener(993, true),
      starttls: listener(143, true),
      /** INBOX shows the Caught messages too (phones open INBOX first) */
      inboxShowsCaught: v.optional(v.boolean(), false),
      /** the optional folder "Caught (Outgoing)" */
      outgoingFolder: v.optional(v.boolean(), false),
      /** the optional folder "Training Requested": delivered copies of unsure messages, for training */
      trainingFolder: v.optional(v.boolean(), false),
    }),
    {},
  ),
  http: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), true),
      host: v.optional(host),
      port: v.optional(port, 8080),
      /**
       * a separate listener for /healthz, /readyz, /metrics and /status (off by default). When
       * enabled those four are served there only; the admin API, onboarding and the status page
       * stay on the main listener. Its host defaults to http.host, then host.
       */
      ops: listener(9090, false),
    }),
    {},
  ),
  lmtp: v.optional(
    v.strictObject({
      enabled: v.optional(v.boolean(), false),
      host: v.optional(host, "127.0.0.1"),
      port: v.optional(port, 24),
      unknownRecipients: v.optional(v.picklist(["reject", "accept"]), "reject"),
      maxMessageBytes: v.optional(positiveInt, 50 * 1024 * 1024),
      direction: v.optional(v.picklist(["incoming", "outgoing"]), "incoming"),
      scoreHeaders: v.optional(v.array(v.string()), ["X-Spam-Score", "X-Spamd-Result", "X-Spam-Status"]),
      /** extra wait before a commit to gather deliveries (0: none; those arriving while a commit runs share the next one anyway) */
      groupCommitMs: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1000)), 0),
      maxRecipients: v.optional(positiveInt, 1000),
    }),
    {},
  ),
  tls: v.optional(
    v.strictObject({
      cert: v.optional(v.string()),
      key: v.optional(v.string()),
    }),
    {},
  ),
  database: v.optional(
    v.strictObject({
      /** file:path, libsql://, http(s)://, ws(s)://; default file:<dataDir>/quarantine.db */
      url: v.optional(v.pipe(v.string(), v.regex(/^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/, "expected a file:, libsql://, http(s):// or ws(s):// URL"))),
      authToken: v.optional(v.string()),
      busyTimeoutMs: v.optional(positiveInt, 5000),
    }),
    {},
  ),
  admin: v.optional(
    v.strictObject({
      login: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]+$/, "expected a login without @")), "admin"),
      password: v.optional(v.pipe(v.string(), v.minLength(8, "expected at least 8 characters"))),
    }),
    {},
  ),
  retention: v.optional(
    v.strictObject({
      defaultDays: v.optional(positiveInt, 14),
      expireIntervalSeconds: v.optional(positiveInt, 300),
    }),
    {},
  ),
  smtp: v.optional(
    v.strictObject({
      smarthost: v.optional(smtpRoute),
      /** trace header name prepended on release */
      traceHeader: v.optional(v.string(), "X-Quarantine-Released"),
      maxRetryAgeSeconds: v.optional(positiveInt, 2 * 24 * 3600),
      heloName: v.optional(v.string()),
      /** first retry delay after a 4xx or network error; doubles per attempt up to retryMaxSeconds */
      retryBaseSeconds: v.optional(positiveInt, 60),
      retryMaxSeconds: v.optional(positiveInt, 3600),
      /** parallel deliveries per process (also the connections per route) */
      concurrency: v.optional(positiveInt, 8),
      /** how long a leased outbox row is ours; a dead process's rows are due again after it */
      leaseSeconds: v.optional(positiveInt, 600),
      timeoutSeconds: v.optional(positiveInt, 60),
    }),
    {},
  ),
  training: v.optional(
    v.pipe(
      v.strictObject({
        sink: v.optional(v.picklist(["none", "rspamd", "spamd", "webhook"]), "none"),
        rspamd: v.optional(
          v.strictObject({
            url: v.string(),
            password: v.optional(v.string()),
            classifier: v.optional(v.string()),
            fuzzy: v.optional(v.boolean(), false),
            /** fuzzy storage flag (and weight) sent with /fuzzyadd */
            fuzzyFlag: v.optional(v.pipe(v.number(), v.integer()), 1),
            fuzzyWeight: v.optional(v.number(), 10),
          }),
        ),
        spamd: v.optional(v.strictObject({ host: v.optional(host, "127.0.0.1"), port: v.optional(port, 783), user: v.optional(v.string()) })),
        webhook: v.optional(v.strictObject({ url: v.string(), secret: v.string() })),
        reportsPerHourPerTenant: v.optional(positiveInt, 600),
        retryBaseSeconds: v.optional(positiveInt, 60),
        retryMaxSeconds: v.optional(positiveInt, 3600),
        /** a report the sink has not taken after this long is marked failed */
        maxRetryAgeSeconds: v.optional(positiveInt, 7 * 24 * 3600),
        leaseSeconds: v.optional(positiveInt, 300),
        timeoutSeconds: v.optional(positiveInt, 30),
        concurrency: v.optional(positiveInt, 4),
      }),
      // the chosen sink needs its section (spamd has defaults): refused at start, not at first report
      v.forward(v.check((t) => t.sink !== "rspamd" || t.rspamd !== undefined, 'required when training.sink is "rspamd"'), ["rspamd"]),
      v.forward(v.check((t) => t.sink !== "webhook" || t.webhook !== undefined, 'required when training.sink is "webhook"'), ["webhook"]),
    ),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      maxLineBytes: v.optional(positiveInt, 64 * 1024),
      /** APPENDLIMIT, and the largest literal a client may send */
      maxMessageBytes: v.optional(positiveInt, 50 * 1024 * 1024),
      maxConnections: v.optional(positiveInt, 15000),
      maxConnectionsPerIp: v.optional(positiveInt, 500),
      commandsPerSecond: v.optional(positiveInt, 500),
      /** IMAP: a connection that sends nothing this long before login is closed */
      preAuthTimeoutSeconds: v.optional(positiveInt, 60),
      /** IMAP: a connection not logged in this long after connecting (after the handshake on the implicit-TLS port) is closed, however active */
      preAuthDeadlineSeconds: v.optional(positiveInt, 120),
      /** IMAP: time from TCP accept (implicit TLS) or from the STARTTLS OK to a completed TLS handshake */
      tlsHandshakeTimeoutSeconds: v.optional(positiveInt, 10),
      authTimeoutSeconds: v.optional(positiveInt, 30 * 60),
      idleTimeoutSeconds: v.optional(positiveInt, 29 * 60),
      failedLoginsPerIpPerMinute: v.optional(positiveInt, 30),
      credentialCacheSeconds: v.optional(positiveInt, 300),
      /** memory for cached folder-listing data (ENVELOPE, BODYSTRUCTURE, headers), in MiB */
      listingCacheMb: v.optional(positiveInt, 256),
      /**
       * memory for APPEND literals while they arrive, all connections together, in MiB; past it a
       * new upload is refused with NO [LIMIT] (one at a time always fits)
       */
      literalMemoryMb: v.optional(positiveInt, 256),
    }),
    {},
  ),
  log: v.optional(v.strictObject({ level: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info") }), {}),
});

export type Config = v.InferOutput<typeof configSchema>;
export type ConfigInput = v.InferInput<typeof configSchema>;
export type SmtpRoute = v.InferOutput<typeof smtpRoute>;
