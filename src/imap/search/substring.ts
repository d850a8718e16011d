/**
 * Substring tests whose time stays linear in the text whatever the search string. The engines'
 * String.prototype.includes is fastest for the short strings people search for, but for a long
 * one it can compare most of the string again at every position: a 1 KiB term made to match
 * "aaaa…" almost everywhere took 2–2.6 s over 10,000 header blocks of 2 KB under both Bun and
 * Deno. Past NATIVE_MAX characters the test is Knuth–Morris–Pratt (about 5 ms a MB), run only
 * where the term's first NATIVE_MAX characters occur.
 */

/** includes() is used up to this length (measured near-linear under Bun and Deno) */
export const NATIVE_MAX = 128;

export type Contains = (text: string) => boolean;

export function substringTest(needle: string): Contains {
  if (needle.length <= NATIVE_MAX) return (text) => text.includes(needle);
  const head = needle.slice(0, NATIVE_MAX);
  const fail = failureTable(needle);
  return (text) => text.length >= needle.length && text.includes(head) && kmp(text, needle, fail);
}

function failureTable(p: string): Int32Array {
  const t = new Int32Array(p.length);
  let k = 0;
  for (let i = 1; i < p.length; i++) {
    const c = p.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = t[k - 1];
    if (c === p.charCodeAt(k)) k++;
    t[i] = k;
  }
  return t;
}

function kmp(text: string, p: string, fail: Int32Array): boolean {
  const m = p.length;
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = fail[k - 1];
    if (c === p.charCodeAt(k) && ++k === m) return true;
  }
  return false;
}
