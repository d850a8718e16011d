// Port of Dovecot's message-address.c (message_address_parse with FILL_MISSING, non-strict dots),
// on binary strings. Groups come out as {mailbox: name} ... {all null}, as in IMAP ENVELOPE.
import { NUL_REPLACEMENT, Rfc822Parser } from "./rfc822.ts";

export interface Address {
  name: string | null;
  route: string | null;
  mailbox: string | null;
  domain: string | null;
}

class AddrParser {
  out: Address[] = [];
  a: Address = { name: null, route: null, mailbox: null, domain: null };
  invalid = false;
  str = "";
  constructor(public p: Rfc822Parser) {}

  private add() {
    this.out.push(this.a);
    this.a = { name: null, route: null, mailbox: null, domain: null };
    this.invalid = false;
  }

  private nonstrictDotAtom(): number {
    const p = this.p;
    let ret = -1;
    do {
      while (p.c() === 46) {
        this.str += ".";
        p.p++;
        if (p.p === p.end) return 0;
        ret = 1;
      }
      if (p.c() === 64) break;
      const [r, t] = p.atom();
      this.str += t;
      ret = r;
    } while (ret > 0 && p.c() === 46);
    return ret;
  }

  private localPart(): number {
    this.str = "";
    let ret: number;
    if (this.p.c() === 34) {
      const [r, t] = this.p.quotedString();
      this.str = t;
      ret = r;
    } else ret = this.nonstrictDotAtom();
    if (ret < 0) return -1;
    this.a.mailbox = this.str;
    return ret;
  }

  private domain(): number {
    const [r, t] = this.p.domain();
    if (r < 0) return -1;
    this.a.domain = t;
    return r;
  }

  private domainList(): number {
    let s = "";
    for (;;) {
      if (this.p.p >= this.p.end) return 0;
      if (this.p.c() !== 64) break;
      if (s.length > 0) s += ",";
      s += "@";
      const [r, t] = this.p.domain();
      s += t;
      if (r <= 0) return r;
      while (this.p.skipLwsp() > 0 && this.p.c() === 44) this.p.p++;
    }
    this.a.route = s;
    return 1;
  }

  private angleAddr(): number {
    const p = this.p;
    p.p++;
    if (p.skipLwsp() <= 0) return -1;
    if (p.c() === 64) {
      if (this.domainList() > 0 && p.c() === 58) p.p++;
      else {
        this.a.route = "INVALID_ROUTE";
        if (p.p >= p.end) return -1;
      }
      if (p.skipLwsp() <= 0) return -1;
    }
    if (p.c() !== 62) {
      if (this.localPart() <= 0) return -1;
      if (p.c() === 64) {
        if (this.domain() <= 0) return -1;
      }
    }
    if (p.c() !== 62) return -1;
    p.p++;
    return p.skipLwsp();
  }

  private nameAddr(): number {
    const [r, t] = this.p.phrase("");
    if (r <= 0 || this.p.c() !== 60) return -1;
    this.a.name = t === "" ? null : t;
    if (this.angleAddr() < 0) {
      this.a.domain = "SYNTAX_ERROR";
      this.invalid = true;
    }
    return this.p.p < this.p.end ? 1 : 0;
  }

  private addrSpec(): number {
    const p = this.p;
    let ret2 = -2;
    p.lastComment = "";
    const quoted = p.c() === 34;
    let ret = this.localPart();
    if (ret <= 0) this.invalid = true;
    if (ret !== 0 && p.p < p.end && p.c() === 64) {
      ret2 = this.domain();
      if (ret2 <= 0) ret = ret2;
    }
    if (p.lastComment !== null && p.lastComment.length > 0) this.a.name = p.lastComment;
    else if (ret2 === -2) {
      this.str += " ";
      const orig = this.str.length;
      const [, t] = p.phrase(this.str);
      this.str = t;
      if (this.str.length !== orig) {
        this.a.mailbox = null;
        this.a.name = this.str;
      } else if (!quoted) this.a.domain = "";
      this.invalid = true;
      ret = -1;
    }
    return ret;
  }

  private addFixed() {
    if (this.a.mailbox === null) this.a.mailbox = "MISSING_MAILBOX";
    if (this.a.domain === null || this.a.domain === "") this.a.domain = "MISSING_DOMAIN";
    this.add();
  }

  private mailbox(): number {
    const start = this.p.p;
    let ret = this.nameAddr();
    if (ret < 0) {
      this.p.p = start;
      ret = this.addrSpec();
      if (this.invalid && this.a.name === null && this.a.mailbox !== null && this.a.domain === null) {
        this.a.name = this.a.mailbox;
        this.a.mailbox = null;
      }
    }
    this.addFixed();
    return ret;
  }

  private group(): number {
    const p = this.p;
    const [r, t] = p.phrase("");
    if (r <= 0 || p.c() !== 58) return -1;
    p.p++;
    let ret = p.skipLwsp();
    this.a.mailbox = t;
    this.add();
    if (ret > 0 && p.c() !== 59) {
      for (;;) {
        this.mailbox();
        if (p.p >= p.end || p.c() !== 44) break;
        p.p++;
        if (p.skipLwsp() <= 0) {
          ret = -1;
          break;
        }
      }
    }
    if (ret >= 0) {
      if (p.p >= p.end || p.c() !== 59) ret = -1;
      else {
        p.p++;
        ret = p.skipLwsp();
      }
    }
    this.add();
    return ret === 0 ? 0 : 1;
  }

  private address(): number {
    const start = this.p.p;
    let ret = this.group();
    if (ret < 0) {
      this.p.p = start;
      ret = this.mailbox();
    }
    return ret;
  }

  list(): void {
    for (;;) {
      if (this.address() === 0) break;
      if (this.p.p >= this.p.end || this.p.c() !== 44) break;
      this.p.p++;
      const r = this.p.skipLwsp();
      if (r <= 0) {
        if (r < 0) this.addFixed();
        break;
      }
    }
  }
}

/** Parse an address-list header value (binary string). */
export function parseAddresses(value: string): Address[] {
  const p = new Rfc822Parser(value, true);
  p.nulRepl = NUL_REPLACEMENT;
  const ap = new AddrParser(p);
  if (p.skipLwsp() > 0) ap.list();
  return ap.out;
}
