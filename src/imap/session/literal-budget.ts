/**
 * Memory for APPEND literals while they arrive, all connections together
 * (`limits.literalMemoryMb`). The reader allocates a literal's whole buffer when it is announced,
 * so without a bound 20 connections each sending most of a 50 MiB APPEND held 2 GiB. Literals
 * up to SMALL bytes (a line's worth: passwords, search strings, mailbox names; already bounded
 * per command) pass uncounted; a larger one that does not fit is refused with NO [LIMIT],
 * except that one always fits when nothing else is held, so an APPENDLIMIT above the budget
 * still lets one upload through at a time.
 */
import { imapMetrics } from "../../observability/metrics.ts";
import type { LiteralBudget as Budget } from "../protocol/index.ts";

const SMALL = 64 * 1024;

export class LiteralBudget implements Budget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get bytes(): number {
    return this.used;
  }

  reserve(bytes: number): boolean {
    if (bytes <= SMALL) return true;
    if (this.used > 0 && this.used + bytes > this.maxBytes) {
      imapMetrics.errors.inc({ kind: "literal_memory" });
      return false;
    }
    this.used += bytes;
    imapMetrics.literalBytes.set({}, this.used);
    return true;
  }

  release(bytes: number): void {
    if (bytes <= SMALL) return;
    this.used = Math.max(0, this.used - bytes);
    imapMetrics.literalBytes.set({}, this.used);
  }
}
