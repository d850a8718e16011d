/**
 * Failed-login penalties: each failure from an address (or against a login) doubles the delay
 * before the next answer, up to 15 s, and decays after a quiet minute. Past a hard limit per
 * minute the address is refused outright. Entries are bounded so a spray of addresses cannot
 * grow memory without limit.
 */
interface Entry {
  fails: number;
  windowStart: number;
  windowFails: number;
  last: number;
}

const MAX_ENTRIES = 50_000;

export class LoginThrottle {
  private byKey = new Map<string, Entry>();

  constructor(private perMinute: number) {}

  private entry(key: string, now: number): Entry {
    let e = this.byKey.get(key);
    if (!e || now - e.last > 60_000) {
      e = { fails: 0, windowStart: now, windowFails: 0, last: now };
      if (this.byKey.size >= MAX_ENTRIES) this.byKey.delete(this.byKey.keys().next().value!);
      this.byKey.set(key, e);
    }
    if (now - e.windowStart > 60_000) {
      e.windowStart = now;
      e.windowFails = 0;
    }
    return e;
  }

  /** Milliseconds to wait before answering a login attempt from ip/login. */
  delay(ip: string, login: string, now = Date.now()): number {
    const fails = Math.max(this.byKey.get(`ip:${ip}`)?.fails ?? 0, this.byKey.get(`login:${login}`)?.fails ?? 0);
    return fails === 0 ? 0 : Math.min(15_000, 250 * 2 ** Math.min(fails - 1, 6));
  }

  /** True when the address has failed too often this minute: refuse without checking. */
  blocked(ip: string, now = Date.now()): boolean {
    const e = this.byKey.get(`ip:${ip}`);
    return !!e && now - e.windowStart <= 60_000 && e.windowFails >= this.perMinute;
  }

  failed(ip: string, login: string, now = Date.now()): void {
    for (const key of [`ip:${ip}`, `login:${login}`]) {
      const e = this.entry(key, now);
      e.fails++;
      e.windowFails++;
      e.last = now;
    }
  }

  succeeded(ip: string, login: string): void {
    this.byKey.delete(`ip:${ip}`);
    this.byKey.delete(`login:${login}`);
  }
}
