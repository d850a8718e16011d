/**
 * Failed-login limits, for LOGIN and AUTHENTICATE alike (session/login.ts):
 *
 * - Per address: at most `perMinute` attempts that failed *or are still being checked* in a
 *   one-minute window. An attempt is reserved before its delay and password check, so N
 *   simultaneous attempts cannot all reach the KDF before the first failure is counted: past
 *   the budget an attempt waits for one in flight to finish (a success gives its slot back),
 *   and once the window holds `perMinute` failures the address is refused until it ends.
 *   A success does not clear the address's failures (a login to one's own account would
 *   otherwise reset the count between guesses at another).
 * - Per address and login: each failure doubles the delay before that pair's next answer
 *   (0.25 s up to 15 s), forgotten after a quiet minute or at a success. The delay is keyed on
 *   the pair, never on the login alone: failures from elsewhere must not slow the right
 *   password from the owner's address (anyone could otherwise make a named user's login take
 *   15 s). No per-login ceiling across addresses is kept: one that slows or refuses the right
 *   password too can be driven by anyone, and one addresses could not trip would stop nothing.
 *
 * Entries are bounded so a spray of addresses cannot grow memory without limit.
 */

const WINDOW_MS = 60_000;
const MAX_DELAY_MS = 15_000;
const MAX_ENTRIES = 50_000;

interface Addr {
  windowStart: number;
  windowFails: number;
  /** attempts reserved and not finished */
  inFlight: number;
  /** attempts waiting for a slot */
  waiting: (() => void)[];
}

interface Pair {
  fails: number;
  last: number;
}

/** One reserved attempt: finish it exactly once. */
export interface LoginAttempt {
  /** milliseconds to wait before checking the password */
  readonly delayMs: number;
  /** the credentials were wrong: counts against the address and the pair */
  failed(): void;
  /** logged in: frees the slot and forgets the pair's failures */
  succeeded(): void;
  /** not checked after all (an error, the client left): frees the slot, counts nothing */
  abandon(): void;
}

export class LoginThrottle {
  private addrs = new Map<string, Addr>();
  private pairs = new Map<string, Pair>();

  constructor(private perMinute: number, private now: () => number = Date.now) {}

  private addr(ip: string): Addr {
    const now = this.now();
    let a = this.addrs.get(ip);
    if (!a) {
      a = { windowStart: now, windowFails: 0, inFlight: 0, waiting: [] };
      this.bound(this.addrs, (x) => x.inFlight === 0 && x.waiting.length === 0);
      this.addrs.set(ip, a);
    }
    if (now - a.windowStart >= WINDOW_MS) {
      a.windowStart = now;
      a.windowFails = 0;
    }
    return a;
  }

  /** Drops the oldest entry that may go, once the map is full. */
  private bound<T>(map: Map<string, T>, idle: (v: T) => boolean): void {
    if (map.size < MAX_ENTRIES) return;
    for (const [k, v] of map) {
      if (idle(v)) {
        map.delete(k);
        return;
      }
    }
  }

  private static pairKey(ip: string, login: string): string {
    return `${ip}\0${login}`;
  }

  /** Milliseconds to wait before answering an attempt at `login` from `ip`. */
  delay(ip: string, login: string): number {
    const p = this.pairs.get(LoginThrottle.pairKey(ip, login));
    if (!p || this.now() - p.last > WINDOW_MS) return 0;
    return Math.min(MAX_DELAY_MS, 250 * 2 ** Math.min(p.fails - 1, 6));
  }

  /** True when the address has failed too often this minute: refuse without checking. */
  blocked(ip: string): boolean {
    return this.addr(ip).windowFails >= this.perMinute;
  }

  /**
   * Reserves an attempt at `login` from `ip`, waiting while the address's budget is taken by
   * attempts in flight. null: the address is blocked for the rest of its window.
   */
  async begin(ip: string, login: string): Promise<LoginAttempt | null> {
    let a = this.addr(ip);
    for (;;) {
      if (a.windowFails >= this.perMinute) return null;
      if (a.windowFails + a.inFlight < this.perMinute) break;
      await new Promise<void>((resolve) => a.waiting.push(resolve));
      a = this.addr(ip); // rolls the window; the same entry unless it was evicted while idle
    }
    const slot = a;
    slot.inFlight++;
    let open = true;
    const finish = () => {
      if (!open) return false;
      open = false;
      slot.inFlight--;
      for (const wake of slot.waiting.splice(0)) wake();
      return true;
    };
    const key = LoginThrottle.pairKey(ip, login);
    return {
      delayMs: this.delay(ip, login),
      failed: () => {
        if (!open) return;
        const now = this.now();
        if (now - slot.windowStart >= WINDOW_MS) {
          slot.windowStart = now;
          slot.windowFails = 0;
        }
        slot.windowFails++;
        let p = this.pairs.get(key);
        if (!p || now - p.last > WINDOW_MS) {
          this.pairs.delete(key);
          this.bound(this.pairs, () => true);
          p = { fails: 0, last: now };
          this.pairs.set(key, p);
        }
        p.fails++;
        p.last = now;
        finish();
      },
      succeeded: () => {
        if (finish()) this.pairs.delete(key);
      },
      abandon: () => void finish(),
    };
  }
}
