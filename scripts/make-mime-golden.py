#!/usr/bin/env python3
"""Record Dovecot's answers for every test/fixtures/mime/*.eml into test/fixtures/mime/golden/<name>.json.

Needs a running Dovecot with a plaintext LOGIN (see src/mime/README.md). Usage:
  python3 scripts/make-mime-golden.py [--host 127.0.0.1] [--port 31143] [--user golden] [--pass golden]
Every fixture is APPENDed (bytes unchanged) into a fresh mailbox, then each FETCH item is asked for in its own
command so that one NO (e.g. BINARY on an unknown encoding) does not hide the others. Values are stored
exactly as they appear on the wire after the item name ("text" when valid UTF-8, else "b64").
"""
import argparse, base64, glob, json, os, re, socket, sys

ITEMS = [
    "ENVELOPE", "BODYSTRUCTURE", "BODY",
    "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[HEADER.FIELDS (From Subject)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (Received DKIM-Signature Subject)]",
    "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[1.1]", "BODY.PEEK[1.2]",
    "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.1]", "BODY.PEEK[2.1.MIME]", "BODY.PEEK[2.2]",
    "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]", "BODY.PEEK[2.HEADER.FIELDS (subject FROM)]",
    "BODY.PEEK[3]", "BODY.PEEK[3.MIME]", "BODY.PEEK[1.HEADER]", "BODY.PEEK[1.TEXT]",
    "BINARY.PEEK[1]", "BINARY.PEEK[2]", "BINARY.PEEK[2.1]",
]


class Imap:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port))
        self.f = self.s.makefile("rb")
        self.n = 0
        self.f.readline()

    def read_response(self):
        """One server response (line plus any literals), as raw bytes."""
        out = b""
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError
            out += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return out
            out += self.f.read(int(m.group(1)))

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b"g%d" % self.n
        if literal is None:
            self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text.encode() + b" {%d}\r\n" % len(literal))
            r = self.read_response()
            if not r.startswith(b"+"):
                return [], r
            self.s.sendall(literal + b"\r\n")
        untagged = []
        while True:
            r = self.read_response()
            if r.startswith(tag + b" "):
                return untagged, r
            untagged.append(r)


def item_value(resp, item):
    """'* 1 FETCH (NAME value)\r\n' -> value bytes exactly as sent."""
    m = re.match(rb"\* \d+ FETCH \(", resp)
    assert m, resp
    rest = resp[m.end():]
    # the name echoed back: BODY.PEEK[x] -> BODY[x], BINARY.PEEK[x] -> BINARY[x]
    sp = rest.index(b" ", rest.index(b"]") if rest.startswith((b"BODY[", b"BINARY[")) else 0)
    value = rest[sp + 1:]
    assert value.endswith(b")\r\n"), value[-20:]
    return value[:-3]


def enc(b):
    try:
        return {"text": b.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(b).decode()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=31143)
    ap.add_argument("--user", default="golden")
    ap.add_argument("--pass", dest="password", default="golden")
    ap.add_argument("--dir", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "mime"))
    a = ap.parse_args()
    c = Imap(a.host, a.port)
    _, r = c.cmd('LOGIN "%s" "%s"' % (a.user, a.password))
    assert b" OK" in r, r
    c.cmd("DELETE golden")
    c.cmd("CREATE golden")
    _, r = c.cmd("SELECT golden")
    assert b" OK" in r, r
    outdir = os.path.join(a.dir, "golden")
    os.makedirs(outdir, exist_ok=True)
    seq = 0
    for path in sorted(glob.glob(os.path.join(a.dir, "*.eml"))):
        name = os.path.basename(path)[:-4]
        raw = open(path, "rb").read()
        _, r = c.cmd("APPEND golden", raw)
        res = {"fixture": os.path.basename(path), "server": "Dovecot 2.3.19.1"}
        if b" OK" not in r:
            res["append"] = r.decode("latin1").strip()
            print(name, "APPEND failed:", res["append"])
        else:
            seq += 1
            c.cmd("NOOP")
            fetch = {}
            for item in ITEMS:
                untagged, r = c.cmd("FETCH %d (%s)" % (seq, item))
                fetched = [u for u in untagged if re.match(rb"\* \d+ FETCH", u)]
                if b" OK" not in r or not fetched:
                    fetch[item] = {"error": r.decode("latin1").strip()}
                else:
                    fetch[item] = enc(item_value(fetched[0], item))
            res["fetch"] = fetch
            print(name, "ok")
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
            f.write("\n")
    c.cmd("LOGOUT")


if __name__ == "__main__":
    main()
