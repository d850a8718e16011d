// Plain text of all text/* parts for TEXT/BODY search.
import { decodeCharset } from "./decode.ts";
import { decodeBody } from "./section.ts";
import type { MimeNode } from "./types.ts";

export const TEXT_CAP = 256 * 1024;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

export function stripHtml(html: string): string {
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === "#") {
        const n = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return n > 0 && n < 0x110000 ? String.fromCodePoint(n) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    })
    .replace(/[ \t\r\n]+/g, " ");
}

export function extractText(raw: Uint8Array, root: MimeNode): string {
  const out: string[] = [];
  let len = 0;
  const walk = (n: MimeNode) => {
    if (len >= TEXT_CAP) return;
    if (n.c !== undefined) for (const c of n.c) walk(c);
    else if (n.m !== undefined) walk(n.m);
    else if (n.t === "text") {
      const b = decodeBody(raw, n);
      if (b === null || b.length === 0) return;
      let s = decodeCharset(b, n.cs ?? "utf-8");
      if (n.s === "html") s = stripHtml(s);
      out.push(s);
      len += s.length;
    }
  };
  walk(root);
  const t = out.join("\n");
  return t.length > TEXT_CAP ? t.slice(0, TEXT_CAP) : t;
}
