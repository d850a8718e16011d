/**
 * The spam filter's verdict, read from the headers it added: score and reason.
 *
 *   X-Spam-Score: 7.5                     (rspamd, SpamAssassin add_header; "7.5 (+++++++)" too)
 *   X-Spamd-Result: default: True [12.34 / 15.00]; BAYES_SPAM(5.10)[99.9%]; R_SPF_FAIL(1.00)[-all]
 *   X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,URIBL_BLACK autolearn=no
 *
 * Formats are recognised by content, so a renamed header (configured in lmtp.scoreHeaders)
 * works as long as it carries one of them. The score comes from the first configured header
 * that yields one; the reason (symbol or test names) from the first that yields any.
 */

export interface Verdict {
  score: number | null;
  reason: string;
}

/** The top-level header block as (lower-cased name, unfolded value) pairs, in order. */
export function headerFields(raw: Uint8Array, limit = 256 * 1024): [string, string][] {
  const n = Math.min(raw.length, limit);
  let end = n;
  for (let i = 0; i + 1 < n; i++) {
    if (raw[i] === 10 && (raw[i + 1] === 10 || (raw[i + 1] === 13 && raw[i + 2] === 10))) {
      end = i;
      break;
    }
  }
  const text = new TextDecoder("latin1").decode(raw.subarray(0, end));
  const out: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length) {
      out[out.length - 1][1] += " " + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return out;
}

const NUM = "[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)";

/** One header value → whatever it tells. */
export function parseVerdictValue(value: string): { score?: number; symbols?: string[] } {
  // rspamd X-Spamd-Result: "default: True [12.34 / 15.00]; SYM(1.0)[opts]; ..."
  const rs = new RegExp(`\\[\\s*(${NUM})\\s*/\\s*(${NUM})\\s*\\]`).exec(value);
  if (rs) {
    const rest = value.slice(rs.index + rs[0].length);
    const symbols: string[] = [];
    for (const m of rest.matchAll(/(?:^|;)\s*([A-Za-z0-9_]+)\s*\(\s*[-+]?[\d.]+\s*\)/g)) symbols.push(m[1]);
    return { score: Number(rs[1]), symbols };
  }
  // SpamAssassin X-Spam-Status: "Yes, score=7.1 required=5.0 tests=A,B autolearn=no ..."
  const sa = new RegExp(`\\bscore=(${NUM})`).exec(value);
  if (sa) {
    const tests = /\btests=([^\s=,]*(?:,\s*[^\s=,]+)*)/.exec(value);
    const symbols = tests ? tests[1].split(/\s*,\s*/).filter((t) => t && t.toLowerCase() !== "none") : [];
    return { score: Number(sa[1]), symbols };
  }
  // A bare number (X-Spam-Score), possibly followed by a bar graph.
  const bare = new RegExp(`^(${NUM})(?:\\s|$|\\()`).exec(value.trim());
  if (bare) return { score: Number(bare[1]) };
  return {};
}

export function verdictFromHeaders(raw: Uint8Array, headerNames: string[]): Verdict {
  const fields = headerFields(raw);
  let score: number | null = null;
  let reason = "";
  for (const name of headerNames) {
    const lname = name.toLowerCase();
    const f = fields.find(([n]) => n === lname);
    if (!f) continue;
    const v = parseVerdictValue(f[1]);
    if (score === null && v.score !== undefined && Number.isFinite(v.score)) score = v.score;
    if (!reason && v.symbols && v.symbols.length) reason = v.symbols.join(", ");
    if (score !== null && reason) break;
  }
  return { score, reason: reason.length > 2000 ? reason.slice(0, 2000) : reason };
}
