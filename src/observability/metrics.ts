/**
 * Process-wide counters, gauges and histograms, rendered in the Prometheus text format by
 * the HTTP /metrics route. Labels are kept as a sorted `k="v",...` string per series.
 */
type Labels = Record<string, string | number>;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

interface Family {
  type: "counter" | "gauge" | "histogram";
  help: string;
  series: Map<string, number>;
  buckets?: number[];
  hist?: Map<string, { counts: number[]; sum: number; count: number }>;
}

const families = new Map<string, Family>();
const collectors: (() => void)[] = [];

function family(name: string, type: Family["type"], help: string, buckets?: number[]): Family {
  let f = families.get(name);
  if (!f) {
    f = { type, help, series: new Map(), buckets, hist: buckets ? new Map() : undefined };
    families.set(name, f);
  }
  return f;
}

export function counter(name: string, help: string) {
  const f = family(name, "counter", help);
  return {
    inc(labels: Labels = {}, by = 1) {
      const k = labelKey(labels);
      f.series.set(k, (f.series.get(k) ?? 0) + by);
    },
  };
}

export function gauge(name: string, help: string) {
  const f = family(name, "gauge", help);
  return {
    set(labels: Labels, value: number) {
      f.series.set(labelKey(labels), value);
    },
    inc(labels: Labels = {}, by = 1) {
      const k = labelKey(labels);
      f.series.set(k, (f.series.get(k) ?? 0) + by);
    },
    dec(labels: Labels = {}, by = 1) {
      const k = labelKey(labels);
      f.series.set(k, (f.series.get(k) ?? 0) - by);
    },
    clear() {
      f.series.clear();
    },
  };
}

export function histogram(name: string, help: string, buckets: number[]) {
  const f = family(name, "histogram", help, buckets);
  return {
    observe(labels: Labels, value: number) {
      const k = labelKey(labels);
      let h = f.hist!.get(k);
      if (!h) f.hist!.set(k, (h = { counts: new Array(buckets.length).fill(0), sum: 0, count: 0 }));
      for (let i = 0; i < buckets.length; i++) if (value <= buckets[i]) h.counts[i]++;
      h.sum += value;
      h.count++;
    },
  };
}

/** Registers a function run before each render (gauges read from the database or process). */
export function onCollect(fn: () => void): void {
  collectors.push(fn);
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
}

export function renderMetrics(): string {
  for (const c of collectors) c();
  const lines: string[] = [];
  for (const [name, f] of families) {
    lines.push(`# HELP ${name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${name} ${f.type}`);
    if (f.type === "histogram") {
      for (const [k, h] of f.hist!) {
        const sep = k ? "," : "";
        f.buckets!.forEach((b, i) => lines.push(`${name}_bucket{${k}${sep}le="${b}"} ${h.counts[i]}`));
        lines.push(`${name}_bucket{${k}${sep}le="+Inf"} ${h.count}`);
        lines.push(`${name}_sum${k ? `{${k}}` : ""} ${fmt(h.sum)}`);
        lines.push(`${name}_count${k ? `{${k}}` : ""} ${h.count}`);
      }
    } else {
      for (const [k, v] of f.series) lines.push(`${name}${k ? `{${k}}` : ""} ${fmt(v)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The IMAP server's instruments, shared by session code and the HTTP route. */
export const imapMetrics = {
  connectionsOpen: gauge("quarantined_imap_connections_open", "IMAP connections open now, by listener"),
  connectionsTotal: counter("quarantined_imap_connections_total", "IMAP connections accepted, by listener"),
  tlsSessions: counter("quarantined_imap_tls_sessions_total", "TLS sessions established, by listener and protocol version"),
  logins: counter("quarantined_imap_logins_total", "IMAP logins by result, mechanism and account kind"),
  commands: counter("quarantined_imap_commands_total", "IMAP commands by name and outcome (ok, no, bad)"),
  latency: histogram("quarantined_imap_command_seconds", "IMAP command latency in seconds, by command", [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  bytesIn: counter("quarantined_imap_bytes_received_total", "bytes received from IMAP clients"),
  bytesOut: counter("quarantined_imap_bytes_sent_total", "bytes sent to IMAP clients"),
  errors: counter("quarantined_imap_errors_total", "IMAP errors by kind"),
  literalBytes: gauge("quarantined_imap_literal_bytes", "bytes of APPEND literals held in memory while they arrive (limits.literalMemoryMb)"),
};

/** The LMTP listener's instruments. */
export const lmtpMetrics = {
  connectionsTotal: counter("quarantined_lmtp_connections_total", "LMTP connections accepted"),
  recipients: counter("quarantined_lmtp_recipients_total", "LMTP RCPT results (accepted, unknown, invalid, lookup_failed)"),
  deliveries: counter("quarantined_lmtp_deliveries_total", "LMTP messages by result (stored, refused, failed)"),
  bytes: counter("quarantined_lmtp_bytes_received_total", "message bytes received over LMTP"),
};

/** Errors that reached the process-level handlers (src/runtime/crash-guard.ts). */
export const processMetrics = {
  uncaught: counter("quarantined_uncaught_errors_total", "exceptions and promise rejections nothing handled, by kind (the process kept serving)"),
};
