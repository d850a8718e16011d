/**
 * The operator's status page at `/`: server-rendered HTML (hono/html), no JavaScript, one
 * inline stylesheet and an inline SVG chart of the last 14 days.
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Overview } from "../quarantine/query.ts";

export interface ListenerInfo {
  name: string;
  protocol: string;
  host: string;
  port: number | null;
  tls: "implicit" | "starttls" | "none";
  bound: boolean;
}

export interface StatusPageData {
  version: string;
  hostname: string;
  uptimeSeconds: number;
  database: string;
  listeners: ListenerInfo[];
  certificateNotAfter?: Date;
  overview?: Overview;
  days: { day: string; caught: number; released: number; expired: number }[];
  now: number;
}

function duration(s: number): string {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

function bytes(n: number): string {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

const COLORS = { caught: "#c0392b", released: "#27ae60", expired: "#95a5a6" };

/** Grouped bar chart: caught / released / expired per day. */
export function activityChart(days: StatusPageData["days"]): HtmlEscapedString | Promise<HtmlEscapedString> {
  const W = 1060, H = 250, left = 44, bottom = 36, top = 28, right = 8;
  const plotW = W - left - right, plotH = H - top - bottom;
  const max = Math.max(1, ...days.flatMap((d) => [d.caught, d.released, d.expired]));
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const tick = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2 >= 1 ? step / 2 : 1;
  const yMax = Math.ceil(max / tick) * tick;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const group = plotW / days.length;
  const bw = Math.max(2, (group - 6) / 3);
  const parts: string[] = [];
  for (let t = 0; t <= yMax; t += tick) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" class="ax">${t}</text>`);
  }
  days.forEach((d, i) => {
    const x0 = left + i * group + 3;
    (["caught", "released", "expired"] as const).forEach((k, j) => {
      const v = d[k];
      const h = (v / yMax) * plotH;
      parts.push(`<rect x="${(x0 + j * bw).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[k]}"><title>${d.day} ${k}: ${v}</title></rect>`);
    });
    parts.push(`<text x="${(x0 + (group - 6) / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle" class="ax">${d.day.slice(5)}</text>`);
  });
  const legend = (["caught", "released", "expired"] as const)
    .map((k, i) => `<rect x="${left + i * 110}" y="6" width="12" height="12" fill="${COLORS[k]}"/><text x="${left + i * 110 + 17}" y="16" class="lg">${k}</text>`)
    .join("");
  return raw(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" style="max-width:100%;height:auto" role="img" aria-label="Caught, released and expired messages per day, last ${days.length} days">${legend}${parts.join("")}<line x1="${left}" x2="${W - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#8a929b"/></svg>`,
  );
}

export function renderStatusPage(d: StatusPageData) {
  const o = d.overview;
  const caught = (dir: string) => o?.messages.find((m) => m.state === "caught" && m.direction === dir);
  const certDays = d.certificateNotAfter ? Math.floor((d.certificateNotAfter.getTime() - d.now) / 86400_000) : undefined;
  const certClass = certDays === undefined ? "" : certDays < 0 ? "bad" : certDays < 14 ? "warn" : "ok";
  const totals = d.days.reduce((a, x) => ({ caught: a.caught + x.caught, released: a.released + x.released, expired: a.expired + x.expired }), { caught: 0, released: 0, expired: 0 });
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quarantined · ${d.hostname}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0; background: #f4f6f8; color: #1f2a33; }
  header { background: #1f2a33; color: #fff; padding: 14px 28px; display: flex; align-items: baseline; gap: 16px; }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  header span { color: #aab6c2; }
  main { padding: 20px 28px; display: grid; grid-template-columns: repeat(auto-fit, minmax(250px, 1fr)); gap: 16px; max-width: 1140px; }
  section { background: #fff; border: 1px solid #dde2e7; border-radius: 6px; padding: 14px 16px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #5b6772; margin: 0 0 10px; }
  .big { font-size: 28px; font-weight: 600; }
  .sub { color: #5b6772; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px 4px 0; border-bottom: 1px solid #eef1f4; }
  th { color: #5b6772; font-weight: 500; }
  .ok { color: #1e8449; } .warn { color: #b9770e; } .bad { color: #c0392b; }
  .ax { font-size: 11px; fill: #5b6772; } .lg { font-size: 12px; fill: #1f2a33; }
</style>
</head>
<body>
<header><h1>quarantined</h1><span>${d.hostname}</span><span>version ${d.version}</span><span>up ${duration(d.uptimeSeconds)}</span><span>database: ${d.database}</span></header>
<main>
  <section>
    <h2>Quarantine</h2>
    <div class="big">${caught("in")?.count ?? 0}</div>
    <div class="sub">messages caught (incoming), ${bytes(caught("in")?.bytes ?? 0)}</div>
    <div class="sub">${caught("out")?.count ?? 0} outgoing · ${o?.messages.find((m) => m.state === "releasing")?.count ?? 0} releasing</div>
  </section>
  <section>
    <h2>Release queue</h2>
    <div class="big ${o && o.outboxOverdue > 0 ? "bad" : ""}">${o?.outbox.byState.pending ?? 0}</div>
    <div class="sub">pending · oldest ${duration(o?.outbox.oldestPendingSeconds ?? 0)} · ${o?.outbox.byState.failed ?? 0} failed</div>
    ${o && o.outboxOverdue > 0 ? html`<div class="bad">${o.outboxOverdue} overdue (is delivery running?)</div>` : ""}
  </section>
  <section>
    <h2>Training queue</h2>
    <div class="big">${o?.training.byState.pending ?? 0}</div>
    <div class="sub">pending · oldest ${duration(o?.training.oldestPendingSeconds ?? 0)} · ${o?.training.byState.done ?? 0} sent · ${o?.training.byState.failed ?? 0} failed</div>
  </section>
  <section>
    <h2>Certificate</h2>
    ${d.certificateNotAfter
      ? html`<div class="big ${certClass}">${certDays} days</div><div class="sub">valid until ${d.certificateNotAfter.toISOString().replace("T", " ").slice(0, 16)} UTC</div>`
      : html`<div class="sub">no certificate loaded</div>`}
  </section>
  <section class="wide">
    <h2>Last ${d.days.length} days</h2>
    <div class="sub">${totals.caught} caught · ${totals.released} released · ${totals.expired} expired</div>
    ${activityChart(d.days)}
  </section>
  <section class="wide">
    <h2>Listeners</h2>
    <table>
      <tr><th>listener</th><th>protocol</th><th>address</th><th>TLS</th><th>state</th></tr>
      ${d.listeners.map(
        (l) => html`<tr><td>${l.name}</td><td>${l.protocol}</td><td>${l.host}:${l.port ?? "-"}</td><td>${l.tls}</td><td class="${l.bound ? "ok" : "bad"}">${l.bound ? "listening" : "down"}</td></tr>`,
      )}
    </table>
  </section>
</main>
</body>
</html>`;
}
