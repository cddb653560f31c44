"""Raw SIP on the wire, for tests that need exact bytes.

sipua.py is a well-behaved user agent. This module is its rough twin: it
builds requests from parts given verbatim (hostile display names, user names
with quotes or escapes, forged header values), sends them over UDP from a
chosen local address such as 127.0.0.23 (any 127/8 address is local on
Linux), and reads back status lines and digest challenges.

    ep = Endpoint("127.0.0.23", ("127.0.0.1", port))
    ch = ep.request(register_request(ep, "1001", "127.0.0.1"))
    assert ch.status == 401
    params = ch.challenge("SHA-256")
    auth = authorization("SHA-256", "1001", params["realm"], "secret",
                         "REGISTER", "sip:127.0.0.1", params["nonce"])
    final = ep.request(register_request(ep, "1001", "127.0.0.1", authorization=auth))
"""
import hashlib
import re
import secrets
import socket
import time

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def new_branch():
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag():
    return secrets.token_hex(6)


def new_call_id():
    return secrets.token_hex(12)


def quoted(text):
    """A SIP quoted-string (RFC 3261 25.1) for text."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ digest

def digest_hash(alg, text):
    try:
        fn = ALGORITHMS[alg.upper()]
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {alg!r}") from None
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    return fn(data).hexdigest()


def digest_response(alg, user, realm, password, method, uri, nonce,
                    qop="auth", nc="00000001", cnonce="0a4f113b"):
    """The digest `response` value (RFC 2617 / RFC 8760)."""
    ha1 = digest_hash(alg, f"{user}:{realm}:{password}")
    ha2 = digest_hash(alg, f"{method}:{uri}")
    if qop:
        return digest_hash(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return digest_hash(alg, f"{ha1}:{nonce}:{ha2}")


def authorization(alg, user, realm, password, method, uri, nonce,
                  qop="auth", nc="00000001", cnonce=None, username_raw=None,
                  response=None):
    """An Authorization header value. username_raw, when given, is put
    between the quotes exactly as written (for hostile user names); the
    digest is still computed over `user`."""
    cnonce = cnonce or secrets.token_hex(8)
    resp = response or digest_response(alg, user, realm, password, method, uri,
                                       nonce, qop, nc, cnonce)
    uname = f'"{username_raw}"' if username_raw is not None else quoted(user)
    parts = [f"username={uname}", f"realm={quoted(realm)}", f"nonce={quoted(nonce)}",
             f"uri={quoted(uri)}", f"response={quoted(resp)}", f"algorithm={alg}"]
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f"cnonce={quoted(cnonce)}"]
    return "Digest " + ", ".join(parts)


# --------------------------------------------------------------- requests

def build_request(method, ruri, headers, body=b""):
    """Bytes of a request. headers is a list of (name, value) written
    verbatim, in order; Content-Length is appended."""
    lines = [f"{method} {ruri} SIP/2.0"]
    lines += [f"{n}: {v}" for n, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


def register_request(ep, user, domain, authorization=None, expires=3600,
                     display=None, to_user=None, from_user=None, contact=None,
                     user_agent=None, call_id=None, cseq=1, extra=()):
    """A REGISTER from endpoint ep. display is written verbatim before the
    From URI (include the quotes yourself to test quoting)."""
    from_user = from_user if from_user is not None else user
    to_user = to_user if to_user is not None else user
    name = f"{display} " if display is not None else ""
    headers = [
        ("Via", f"SIP/2.0/UDP {ep.sent_by()};branch={new_branch()};rport"),
        ("Max-Forwards", "70"),
        ("From", f"{name}<sip:{from_user}@{domain}>;tag={new_tag()}"),
        ("To", f"<sip:{to_user}@{domain}>"),
        ("Call-ID", call_id or new_call_id()),
        ("CSeq", f"{cseq} REGISTER"),
        ("Contact", contact or f"<sip:{user}@{ep.sent_by()}>"),
        ("Expires", str(expires)),
    ]
    if authorization:
        headers.append(("Authorization", authorization))
    if user_agent is not None:
        headers.append(("User-Agent", user_agent))
    headers += list(extra)
    return build_request("REGISTER", f"sip:{domain}", headers)


# -------------------------------------------------------------- responses

class Response:
    """A parsed response; raw keeps the exact bytes."""

    def __init__(self, raw):
        self.raw = raw
        head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        lines = head.split("\r\n")
        m = re.match(r"^SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise ValueError(f"not a SIP response: {lines[0]!r}")
        self.status, self.reason = int(m.group(1)), m.group(2)
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

    def get_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def get(self, name):
        v = self.get_all(name)
        return v[0] if v else None

    def challenges(self, header="WWW-Authenticate"):
        """[(scheme, {param: value})] in order."""
        return [parse_challenge(v) for v in self.get_all(header)]

    def challenge(self, alg="SHA-256", header="WWW-Authenticate"):
        for scheme, params in self.challenges(header):
            if scheme.lower() == "digest" and params.get("algorithm", "MD5").upper() == alg.upper():
                return params
        raise AssertionError(f"no Digest {alg} challenge in:\n{self.raw.decode(errors='replace')}")

    def __repr__(self):
        return f"<Response {self.status} {self.reason}>"


def parse_challenge(value):
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))', rest):
        v = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", v)
    return scheme, params


# --------------------------------------------------------------- sockets

class Endpoint:
    """A UDP socket bound to src (port 0: any) talking to dst=(host, port)."""

    def __init__(self, src, dst, src_port=0):
        fam = socket.AF_INET6 if ":" in dst[0] else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((src, src_port))
        self.dst = dst
        self.local = self.sock.getsockname()[:2]

    def sent_by(self):
        ip, port = self.local
        return (f"[{ip}]" if ":" in ip else ip) + f":{port}"

    def send(self, data):
        self.sock.sendto(data, self.dst)

    def recv(self, timeout):
        """The next datagram from dst as a Response, or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, peer = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            if peer[:2] == self.dst[:2] or peer[1] == self.dst[1]:
                return Response(data)

    def request(self, data, timeout=3.0, retransmit=0.5):
        """Send and return the first final response (>= 200), resending on
        silence as a UDP client would. None if nothing final came back."""
        m = re.search(rb";branch=([^;,\s]+)", data)
        branch = m.group(1).decode() if m else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send(data)
            wait_until = min(deadline, time.monotonic() + retransmit)
            while True:
                r = self.recv(max(0.0, wait_until - time.monotonic()))
                if r is None:
                    break
                # Skip late answers to an earlier request.
                if branch and branch not in (r.get("Via") or ""):
                    continue
                if r.status >= 200:
                    return r
        return None

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
