/**
 * IMAP dates.
 *
 *   SEARCH SINCE 1-Jan-2026            date      → { y, m, d }
 *   APPEND ... "27-Nov-2026 18:36:18 +0100"   date-time → epoch ms
 *   INTERNALDATE "27-Nov-2026 18:36:18 +0000"
 */
import { clientText, ProtocolError } from "./errors.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_INDEX = new Map(MONTHS.map((m, i) => [m.toUpperCase(), i + 1]));

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Always UTC. Day zero-padded (RFC 3501 allows both): clients that split on spaces cope better. */
export function formatInternalDate(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

function validDay(y: number, m: number, d: number): boolean {
  return d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function dayMonthYear(day: string, mon: string, year: string, whole: string): { y: number; m: number; d: number } {
  const m = MONTH_INDEX.get(mon.toUpperCase());
  const y = Number(year), d = Number(day);
  if (m === undefined || !validDay(y, m, d)) throw new ProtocolError(`Invalid date: ${clientText(whole)}`);
  return { y, m, d };
}

/** date-text: 1-Jan-2026 or 01-Jan-2026. */
export function parseDateArg(s: string): { y: number; m: number; d: number } {
  const x = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!x) throw new ProtocolError(`Invalid date: ${clientText(s)}`);
  return dayMonthYear(x[1], x[2], x[3], s);
}

/** date-time: "dd-Mon-yyyy hh:mm:ss +zzzz", day may be " 7" or "07" (also "7", as some clients send). */
export function parseAppendDate(s: string): number {
  const x = /^ ?(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(s);
  if (!x) throw new ProtocolError(`Invalid date-time: ${clientText(s)}`);
  const { y, m, d } = dayMonthYear(x[1], x[2], x[3], s);
  const hh = Number(x[4]), mi = Number(x[5]), ss = Number(x[6]);
  const zh = Number(x[8]), zm = Number(x[9]);
  if (hh > 23 || mi > 59 || ss > 60 || zm > 59) throw new ProtocolError(`Invalid date-time: ${clientText(s)}`);
  const offset = (x[7] === "-" ? -1 : 1) * (zh * 60 + zm) * 60_000;
  // setUTCFullYear: Date.UTC would read years 0-99 as 1900-1999.
  const t = new Date(Date.UTC(2000, m - 1, d, hh, mi, Math.min(ss, 59))).setUTCFullYear(y);
  return t - offset;
}
