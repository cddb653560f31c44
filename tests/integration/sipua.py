"""A small SIP user agent for the integration tests.

It speaks UDP, TCP and TLS (no certificate verification: the test
certificate is self-signed), over IPv4 or IPv6, from a chosen local address,
builds REGISTER requests, parses responses and answers digest challenges
(MD5 and SHA-256, qop=auth). Everything that waits has a timeout.
"""
import hashlib
import os
import re
import secrets
import socket
import ssl
import time

# Compact header forms (RFC 3261 7.3.3) mapped to their long names.
COMPACT = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported",
    "t": "to", "v": "via",
}

T1 = 0.5


def canon(name):
    n = name.strip().lower()
    return COMPACT.get(n, n)


class Response:
    """A parsed SIP response; `raw` keeps the exact bytes."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", errors="replace").split("\r\n")
        m = re.match(r"^SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise ValueError(f"not a SIP response: {lines[0]!r}")
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + ln.strip())
                continue
            name, sep, value = ln.partition(":")
            if not sep:
                raise ValueError(f"bad header line: {ln!r}")
            self.headers.append((name.strip(), value.strip()))

    def header_names(self):
        return [canon(n) for n, _ in self.headers]

    def get_all(self, name):
        c = canon(name)
        return [v for n, v in self.headers if canon(n) == c]

    def get(self, name):
        vals = self.get_all(name)
        return vals[0] if vals else None

    def challenges(self):
        """WWW-Authenticate challenges in order, as (scheme, params)."""
        return [parse_challenge(v) for v in self.get_all("www-authenticate")]

    def contacts(self):
        """Contact values of the response as (uri, params) pairs."""
        out = []
        for v in self.get_all("contact"):
            for part in split_commas(v):
                out.append(parse_contact(part))
        return out

    def __repr__(self):
        return f"<Response {self.status} {self.reason}>"


def split_commas(value):
    """Split a header value on commas outside quotes and angle brackets."""
    parts, cur, quoted, angle = [], "", False, False
    for ch in value:
        if ch == '"' and not angle:
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch == "," and not quoted and not angle:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def parse_contact(text):
    m = re.match(r'^\s*(?:"[^"]*"\s*|[^<]*)?<([^>]*)>(.*)$', text)
    if m:
        uri, rest = m.group(1), m.group(2)
    else:
        uri, _, rest = text.partition(";")
        rest = ";" + rest if rest else ""
    params = {}
    for p in rest.split(";"):
        p = p.strip()
        if not p:
            continue
        k, _, v = p.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return uri.strip(), params


def parse_challenge(value):
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)', rest):
        key = m.group(1).lower()
        params[key] = m.group(3) if m.group(3) is not None else m.group(2)
    return scheme, params


def challenge_param_order(value):
    """The parameter names of a challenge in the order they appear."""
    _, _, rest = value.strip().partition(" ")
    return [m.group(1).lower() for m in
            re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)', rest)]


def _h(alg, text):
    fn = hashlib.sha256 if alg.upper() == "SHA-256" else hashlib.md5
    return fn(text.encode()).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce,
                    nc="00000001", cnonce="0a4f113b", qop="auth"):
    ha1 = _h(alg, f"{user}:{realm}:{password}")
    ha2 = _h(alg, f"{method}:{uri}")
    if qop:
        return _h(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(alg, f"{ha1}:{nonce}:{ha2}")


def authorization(alg, user, realm, password, method, uri, nonce,
                  nc="00000001", cnonce=None, qop="auth", response=None):
    """An Authorization header value answering a challenge."""
    cnonce = cnonce or secrets.token_hex(8)
    resp = response or digest_response(alg, user, realm, password, method, uri,
                                       nonce, nc, cnonce, qop)
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"',
             f'uri="{uri}"', f'response="{resp}"', f"algorithm={alg}"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts)


def pick_challenge(resp, alg):
    for scheme, params in resp.challenges():
        a = params.get("algorithm", "MD5")
        if scheme.lower() == "digest" and a.upper() == alg.upper():
            return params
    raise AssertionError(f"no {alg} challenge in:\n{resp.raw.decode(errors='replace')}")


class Conn:
    """One client socket: UDP, TCP or TLS, from a chosen local address."""

    def __init__(self, transport, host, port, src=None, src_port=0, timeout=5.0):
        self.transport = transport.lower()
        self.host, self.port = host, port
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        src = src or ("::1" if fam == socket.AF_INET6 else "127.0.0.1")
        kind = socket.SOCK_DGRAM if self.transport == "udp" else socket.SOCK_STREAM
        s = socket.socket(fam, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, src_port))
        self._buf = b""
        self.peer_closed = False
        if self.transport == "udp":
            self.sock = s
        else:
            s.settimeout(timeout)
            s.connect((host, port))
            if self.transport == "tls":
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s = ctx.wrap_socket(s, server_hostname=None)
            self.sock = s
        self.local = self.sock.getsockname()[:2]

    @property
    def local_ip(self):
        return self.local[0]

    @property
    def local_port(self):
        return self.local[1]

    def sent_by(self):
        ip = self.local_ip
        return (f"[{ip}]" if ":" in ip else ip) + f":{self.local_port}"

    def via_transport(self):
        return self.transport.upper()

    def send(self, data):
        if self.transport == "udp":
            self.sock.sendto(data, (self.host, self.port))
        else:
            self.sock.sendall(data)

    def recv_raw(self, timeout):
        """One message's bytes, or None after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if self.transport == "udp":
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(70000)
                    return data
                except (socket.timeout, BlockingIOError):
                    return None
        while True:
            msg = self._frame()
            if msg is not None:
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                return None
            if not chunk:
                self.peer_closed = True
                return None
            self._buf += chunk

    def _frame(self):
        while self._buf.startswith(b"\r\n"):  # keep-alives between messages
            self._buf = self._buf[2:]
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self._buf[:end].decode("utf-8", errors="replace")
        m = re.search(r"(?im)^(?:content-length|l)\s*:\s*(\d+)\s*$", head)
        clen = int(m.group(1)) if m else 0
        total = end + 4 + clen
        if len(self._buf) < total:
            return None
        msg, self._buf = self._buf[:total], self._buf[total:]
        return msg

    def recv(self, timeout):
        raw = self.recv_raw(timeout)
        return Response(raw) if raw is not None else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def new_branch():
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag():
    return secrets.token_hex(5)


def new_call_id():
    return secrets.token_hex(12) + "@ringfence.test"


class UA:
    """A registering user agent for one extension over one connection."""

    def __init__(self, conn, user, password, domain="127.0.0.1", contact=None,
                 user_agent="rf-test-ua/1.0", auth_user=None):
        self.conn = conn
        self.user, self.password = user, password
        self.auth_user = auth_user or user
        self.domain = domain
        self.call_id = new_call_id()
        self.cseq = 0
        self.from_tag = new_tag()
        self.user_agent = user_agent
        self.contact = contact or self.default_contact()

    def default_contact(self):
        t = "" if self.conn.transport == "udp" else f";transport={self.conn.transport}"
        return f"<sip:{self.user}@{self.conn.sent_by()}{t}>"

    @property
    def ruri(self):
        return f"sip:{self.domain}"

    def build(self, expires=3600, contact=None, auth=None, cseq=None, call_id=None,
              to_user=None, ruri=None, branch=None, extra=(), contacts=None,
              user_agent=None):
        """Bytes of one REGISTER. contact=None uses self.contact; contacts
        (a list) puts several Contact headers; expires=None omits Expires."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        ruri = ruri or self.ruri
        to_user = to_user or self.user
        lines = [
            f"REGISTER {ruri} SIP/2.0",
            f"Via: SIP/2.0/{self.conn.via_transport()} {self.conn.sent_by()};branch={branch or new_branch()};rport",
            "Max-Forwards: 70",
            f"From: <sip:{self.user}@{self.domain}>;tag={self.from_tag}",
            f"To: <sip:{to_user}@{self.domain}>",
            f"Call-ID: {call_id or self.call_id}",
            f"CSeq: {cseq} REGISTER",
        ]
        for c in (contacts if contacts is not None else [contact or self.contact]):
            lines.append(f"Contact: {c}")
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if auth:
            lines.append(f"Authorization: {auth}")
        ua = self.user_agent if user_agent is None else user_agent
        if ua:
            lines.append(f"User-Agent: {ua}")
        lines += list(extra)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def transact(self, data, timeout=3.0):
        """Send a request and return its final response (or None). UDP
        requests are retransmitted on RFC 3261 timer E, bounded by timeout."""
        cseq_line = re.search(rb"\r\nCSeq: *(\d+)", data).group(1)
        branch = re.search(rb";branch=([^;\r\n]+)", data).group(1)
        deadline = time.monotonic() + timeout
        self.conn.send(data)
        interval = T1
        next_retx = time.monotonic() + interval
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            wait = min(deadline, next_retx) - now if self.conn.transport == "udp" else deadline - now
            raw = self.conn.recv_raw(max(wait, 0.01))
            if raw is None and self.conn.peer_closed:
                return None
            if raw is None:
                if self.conn.transport == "udp" and time.monotonic() >= next_retx:
                    self.conn.send(data)
                    interval = min(interval * 2, 4.0)
                    next_retx = time.monotonic() + interval
                continue
            r = Response(raw)
            via = r.get("via") or ""
            cs = r.get("cseq") or ""
            if branch.decode() not in via or not cs.startswith(cseq_line.decode()):
                continue  # a late answer to an earlier request
            if r.status >= 200:
                return r

    def request(self, timeout=3.0, **kw):
        return self.transact(self.build(**kw), timeout=timeout)

    def auth_for(self, challenge_resp, alg="SHA-256", password=None, uri=None,
                 nonce=None, user=None, ruri=None, nc="00000001"):
        ch = pick_challenge(challenge_resp, alg)
        return authorization(alg, user or self.auth_user, ch["realm"],
                             self.password if password is None else password,
                             "REGISTER", uri or ruri or self.ruri,
                             nonce or ch["nonce"], nc=nc)

    def register(self, alg="SHA-256", password=None, timeout=3.0, **kw):
        """REGISTER, answer the challenge, return (challenge, final)."""
        first = self.request(timeout=timeout, **kw)
        assert first is not None, "no answer to REGISTER"
        if first.status != 401:
            return first, first
        auth = self.auth_for(first, alg, password=password, ruri=kw.get("ruri"))
        kw2 = dict(kw)
        kw2.pop("cseq", None)
        final = self.request(timeout=timeout, auth=auth, **kw2)
        assert final is not None, "no answer to authenticated REGISTER"
        return first, final


def udp_exchange(data, host, port, src="127.0.0.1", timeout=0.5):
    """Send one datagram from src and return the first reply's bytes or None."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.sendto(data, (host, port))
        s.settimeout(timeout)
        try:
            return s.recvfrom(70000)[0]
        except socket.timeout:
            return None


def wait_until(pred, timeout, interval=0.1):
    """Poll pred() until it is truthy or timeout passes; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def env_flag(name):
    return os.environ.get(name, "") not in ("", "0")


_FIELD_ALIASES = {
    "ext": ("ext", "extension", "user"),
    "contact": ("contact", "uri", "contact_uri"),
    "source": ("source", "src", "received"),
    "transport": ("transport", "proto", "protocol"),
    "user_agent": ("user_agent", "user-agent", "useragent", "ua"),
    "expires": ("expires", "expires_in", "expiry", "expires_at", "ttl"),
}


def reg_list(inst):
    """`ringfence reg list --json` as a list of dicts with the keys ext,
    contact, source, transport, user_agent and expires (raw values kept
    under 'raw')."""
    import json
    out = inst.cli("reg", "list", "--json").stdout
    data = json.loads(out)
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        assert len(lists) == 1, f"unexpected reg list --json shape: {out}"
        data = lists[0]
    assert isinstance(data, list), f"unexpected reg list --json shape: {out}"
    rows = []
    for d in data:
        row = {"raw": d}
        low = {k.lower(): v for k, v in d.items()}
        for field, names in _FIELD_ALIASES.items():
            row[field] = next((low[n] for n in names if n in low), None)
        row["ext"] = None if row["ext"] is None else str(row["ext"])
        rows.append(row)
    return rows


# The daemon writes registrations through to the database in batches (one
# flush per loop tick, 100 ms), and `reg list` reads the database: a check
# waits this long before trusting a snapshot.
SETTLE = 0.35


def bindings_of(inst, ext, n=None, timeout=2.0):
    """Rows of `reg list` for ext. With n, poll until there are n rows (or
    timeout); without, take the snapshot after the write-through settled."""
    def rows():
        return [r for r in reg_list(inst) if r["ext"] == str(ext)]
    if n is None:
        time.sleep(SETTLE)
        return rows()
    deadline = time.monotonic() + timeout
    while True:
        got = rows()
        if len(got) == n or time.monotonic() >= deadline:
            return got
        time.sleep(0.05)


def remaining_seconds(row):
    """Seconds until a reg list row expires, whether the CLI prints the
    remaining time, a Unix time or an ISO 8601 UTC time."""
    import datetime
    v = row["expires"]
    if isinstance(v, str):
        s = v.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", s):
            v = float(s)
        else:
            s = s.replace("Z", "+00:00")
            t = datetime.datetime.fromisoformat(s)
            if t.tzinfo is None:
                t = t.replace(tzinfo=datetime.timezone.utc)
            return t.timestamp() - time.time()
    assert isinstance(v, (int, float)), f"no expiry in {row['raw']}"
    return v - time.time() if v > 1_000_000_000 else float(v)


def contact_uri(c):
    """The URI of a Contact value: inside the angle brackets, or the whole
    text when it is a bare URI as `reg list` prints it."""
    c = c.strip()
    if "<" in c:
        return parse_contact(c)[0]
    return c


def wait_for_event(inst, event, needle="", timeout=2.0):
    """Security log lines for `event` containing needle, polled (the log may
    be written by another thread)."""
    return wait_until(lambda: [l for l in inst.security_events(event) if needle in l],
                      timeout)


class UAFactory:
    """Makes UAs bound to a running instance and closes their sockets."""

    def __init__(self):
        self.conns = []

    def __call__(self, inst, ext, transport="udp", src=None, password=None,
                 host=None, src_port=0, **kw):
        host = host or ("::1" if src and ":" in src else "127.0.0.1")
        port = inst.tls_port if transport == "tls" else inst.port
        conn = Conn(transport, host, port, src=src, src_port=src_port)
        self.conns.append(conn)
        if password is None:
            password = inst.passwords.get(str(ext), "")
        return UA(conn, str(ext), password, **kw)

    def close(self):
        for c in self.conns:
            c.close()


try:
    import pytest

    @pytest.fixture
    def mkua():
        f = UAFactory()
        yield f
        f.close()
except ImportError:  # used outside pytest
    pass


class ChallengeFilterRelay:
    """A UDP relay on 127.0.0.1 between one client and the daemon that drops
    the WWW-Authenticate challenges whose algorithm the client cannot answer
    and forwards everything else byte for byte.

    Debian's SIPp 3.6.1 answers only the first challenge of a 401 and only
    with MD5, so it fails on a server that offers SHA-256 first as RFC 8760
    recommends; this relay lets it exercise the daemon's MD5 path."""

    def __init__(self, upstream, drop_algorithms=("SHA-256",)):
        import threading
        self.upstream = upstream
        self.drop = [a.upper() for a in drop_algorithms]
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.back_addr = self.back.getsockname()
        self.client = None
        self.forwarded = 0
        self.dropped_challenges = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _filter(self, data):
        lines = data.split(b"\r\n")
        out = []
        for ln in lines:
            m = re.match(rb"(?i)^(?:www-authenticate)\s*:.*algorithm=\"?([A-Za-z0-9-]+)", ln)
            if m and m.group(1).decode().upper() in self.drop:
                self.dropped_challenges += 1
                continue
            out.append(ln)
        return b"\r\n".join(out)

    def _run(self):
        import select
        while not self._stop.is_set():
            r, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for s in r:
                data, addr = s.recvfrom(70000)
                if s is self.front:
                    self.client = addr
                    self.back.sendto(data, self.upstream)
                    self.forwarded += 1
                elif self.client is not None:
                    self.front.sendto(self._filter(data), self.client)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.front.close()
        self.back.close()


def five_digit_port(ip, transport="udp", tries=200):
    """A free local port in 40000-49999 on ip, so that echoed sent-by and
    rport values have the same length whatever the ephemeral range is."""
    import random
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    for _ in range(tries):
        p = random.randint(40000, 49999)
        with socket.socket(fam, kind) as s:
            try:
                s.bind((ip, p))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port in 40000-49999")
