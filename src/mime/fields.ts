// Decoded header fields for SEARCH, and RFC 5322 date parsing.
import { utf8Decode } from "./bytes.ts";
import { decodeWords } from "./decode.ts";
import { type HeaderField } from "./header.ts";
import type { SearchFields } from "./types.ts";

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};
const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0, edt: -240, est: -300, cdt: -300, cst: -360, mdt: -360, mst: -420, pdt: -420, pst: -480,
};
const DATE_RE =
  /^\s*(?:[A-Za-z]+\s*,\s*)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([+-]\d{4}|[A-Za-z]+)?/;

/** The parts of an RFC 5322 date: day, month (0-11), full year, and the regex match for time and zone. */
function dateParts(s: string): { day: number; mon: number; year: number; m: RegExpExecArray } | null {
  const m = DATE_RE.exec(s);
  if (m === null) return null;
  const mon = MONTHS[m[2].toLowerCase()];
  if (mon === undefined) return null;
  let year = +m[3];
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  return { day: +m[1], mon, year, m };
}

/** RFC 5322 date → epoch ms, null when unparsable */
export function parseDate(s: string): number | null {
  const p = dateParts(s);
  if (p === null) return null;
  const { m } = p;
  let off = 0;
  const z = m[7];
  if (z !== undefined) {
    if (z[0] === "+" || z[0] === "-") off = (z[0] === "-" ? -1 : 1) * (+z.slice(1, 3) * 60 + +z.slice(3, 5));
    else off = ZONES[z.toLowerCase()] ?? 0;
  }
  const t = Date.UTC(p.year, p.mon, p.day, +m[4], +m[5], m[6] === undefined ? 0 : +m[6]) - off * 60000;
  return Number.isFinite(t) ? t : null;
}

/** The calendar day a Date header names, as written (its own zone, time ignored): days since 1970-01-01. */
export function parseDateDay(s: string): number | null {
  const p = dateParts(s);
  if (p === null) return null;
  const t = Date.UTC(p.year, p.mon, p.day);
  return Number.isFinite(t) ? Math.floor(t / 86400_000) : null;
}

/** decoded value of a field: unfolded, raw 8-bit read as UTF-8, encoded words decoded */
function decoded(raw: Uint8Array, f: HeaderField): string {
  const v = utf8Decode(raw, f.vs, f.end).replace(/\r?\n[ \t]/g, (x) => x.slice(-1)).replace(/[\r\n]+$/, "");
  return decodeWords(v).replace(/\0/g, "\ufffd").trim();
}

export function searchFields(raw: Uint8Array, fields: HeaderField[]): SearchFields {
  const r: SearchFields = { from: "", to: "", cc: "", bcc: "", subject: "", messageId: "", date: null, dateDay: null };
  let dateSeen = false;
  for (const f of fields) {
    switch (f.name) {
      case "from":
      case "to":
      case "cc":
      case "bcc": {
        const v = decoded(raw, f);
        r[f.name] = r[f.name] === "" ? v : r[f.name] + ", " + v;
        break;
      }
      case "subject":
        if (r.subject === "") r.subject = decoded(raw, f);
        break;
      case "message-id":
        if (r.messageId === "") r.messageId = decoded(raw, f);
        break;
      case "date":
        if (!dateSeen) {
          dateSeen = true;
          const v = decoded(raw, f);
          r.date = parseDate(v);
          r.dateDay = parseDateDay(v);
        }
        break;
    }
  }
  return r;
}
