"""A provider's side of a trunk, for the registration and call tests: a
digest registrar over UDP, TCP or TLS (MD5 or SHA-256) that can also
answer calls, a tiny DNS server answering NAPTR, SRV and A from a table,
a test CA with the certificates the TLS tests need, and SIPp playing the
provider, with an instance whose trunk leads to it. Everything listens on
loopback only."""
import datetime
import hashlib
import ipaddress
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sipcall import configure
from test_calls_sipp import DATA, SIPP, free_udp_port, trace_when

REALM = "provider.test"


# ---- certificates ----

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o644)


class TestCA:
    __test__ = False  # a helper, not a pytest class

    """A CA whose certificate goes into [trunks] ca_file, and leaves it
    signs for whatever names and dates a test needs."""

    def __init__(self, workdir, cn="Ringfence Test CA"):
        self.dir = workdir
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(workdir, f"ca-{abs(hash(cn))}.pem")
        _write(self.path, self.cert.public_bytes(serialization.Encoding.PEM))

    def leaf(self, label, dns=(), ips=(), days_valid=(-1, 30)):
        """Write label.pem / label.key for a server certificate; returns
        (cert, key) paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        cert = (x509.CertificateBuilder().subject_name(_name(dns[0] if dns else label))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=days_valid[0]))
                .not_valid_after(now + datetime.timedelta(days=days_valid[1]))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .sign(self.key, hashes.SHA256()))
        cpath = os.path.join(self.dir, f"{label}.pem")
        kpath = os.path.join(self.dir, f"{label}.key")
        _write(cpath, cert.public_bytes(serialization.Encoding.PEM))
        _write(kpath, key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
        return cpath, kpath


# ---- the registrar ----

def _hash(alg, text):
    h = hashlib.sha256 if alg == "SHA-256" else hashlib.md5
    return h(text.encode()).hexdigest()


def _params(value):
    return dict((k.lower(), v1 if v1 else v2)
                for k, v1, v2 in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', value))


class Registrar:
    """Challenges every REGISTER without credentials (algorithm `alg`, qop
    auth) and answers the credentials with 200 (Expires `expires`) or 403.
    `requests` holds every REGISTER received, in order, as text.
    `bindings` maps each Contact URI it accepted to the Call-ID that bound
    it; an authenticated REGISTER with Expires: 0 removes it (RFC 3261
    10.3). With `silent` set it records requests but answers none."""

    def __init__(self, user, password, alg="MD5", expires=10, port=0, tls_ctx=None,
                 tcp=False, min_expires=0, ip="127.0.0.1"):
        self.user, self.password, self.alg, self.expires = user, password, alg, expires
        self.min_expires = min_expires
        self.requests = []
        self.received_at = []  # time.monotonic() of each of `requests`
        self.bindings = {}
        self.silent = False
        self.handshake_errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.nonce_seq = 0
        self.tls_ctx = tls_ctx
        stream = tcp or tls_ctx is not None
        kind = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.2)
        if stream:
            self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve_stream if stream else self._serve_udp,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def count(self):
        with self.lock:
            return len(self.requests)

    def current_bindings(self):
        with self.lock:
            return dict(self.bindings)

    def answer(self, text):
        """The response to one request (None for a non-REGISTER)."""
        line, hdrs = _headers(text)
        if not line.startswith("REGISTER "):
            return None
        with self.lock:
            self.requests.append(text)
            self.received_at.append(time.monotonic())
            if self.silent:
                return None
        copy = "".join(f"{k}: {v}\r\n" for k in ("via", "from", "to", "call-id", "cseq")
                       for v in hdrs.get(k, []))
        auth = hdrs.get("authorization")
        asked = int(hdrs.get("expires", ["3600"])[0])
        if self.min_expires and 0 < asked < self.min_expires:
            return (f"SIP/2.0 423 Interval Too Brief\r\n{copy}Min-Expires: {self.min_expires}\r\n"
                    "Content-Length: 0\r\n\r\n")
        if not auth:
            self.nonce_seq += 1
            nonce = f"{os.urandom(8).hex()}{self.nonce_seq}"
            return (f"SIP/2.0 401 Unauthorized\r\n{copy}WWW-Authenticate: Digest realm=\"{REALM}\", "
                    f"nonce=\"{nonce}\", qop=\"auth\", algorithm={self.alg}\r\nContent-Length: 0\r\n\r\n")
        if self._valid(auth[0], line.split()[0]):
            contact = hdrs.get("contact", ["<sip:x@127.0.0.1>"])[0]
            uri = contact.split(">")[0].lstrip("<")
            with self.lock:
                if asked == 0:
                    self.bindings.pop(uri, None)
                else:
                    self.bindings[uri] = hdrs.get("call-id", [""])[0]
            if asked == 0:
                return f"SIP/2.0 200 OK\r\n{copy}Content-Length: 0\r\n\r\n"
            return (f"SIP/2.0 200 OK\r\n{copy}Contact: {contact};expires={self.expires}\r\n"
                    f"Expires: {self.expires}\r\nContent-Length: 0\r\n\r\n")
        return f"SIP/2.0 403 Forbidden\r\n{copy}Content-Length: 0\r\n\r\n"

    def _valid(self, auth, method):
        p = _params(auth)
        alg = p.get("algorithm", "MD5")
        if alg != self.alg or p.get("username") != self.user or p.get("realm") != REALM:
            return False
        ha1 = _hash(alg, f"{self.user}:{REALM}:{self.password}")
        ha2 = _hash(alg, f"{method}:{p.get('uri')}")
        if p.get("qop") == "auth":
            want = _hash(alg, f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        else:
            want = _hash(alg, f"{ha1}:{p['nonce']}:{ha2}")
        return want == p.get("response")

    def _serve_udp(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            resp = self.answer(data.decode(errors="replace"))
            if resp:
                self.sock.sendto(resp.encode(), addr)

    def _serve_stream(self):
        while not self.stop.is_set():
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._stream_conn, args=(raw,), daemon=True).start()

    def _stream_conn(self, raw):
        raw.settimeout(5)
        conn = raw
        if self.tls_ctx:
            try:
                conn = self.tls_ctx.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.lock:
                    self.handshake_errors.append(str(e))
                raw.close()
                return
        buf = b""
        conn.settimeout(0.5)
        while not self.stop.is_set():
            try:
                chunk = conn.recv(65535)
            except socket.timeout:
                continue
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            buf += chunk
            while True:
                msg, buf = _stream_message(buf)
                if msg is None:
                    break
                resp = self.answer(msg.decode(errors="replace"))
                if resp:
                    conn.sendall(resp.encode())
        conn.close()


def _stream_message(buf):
    """(one whole message, the rest) from a stream buffer, framed by its
    Content-Length; (None, buf) while it is incomplete."""
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        return None, buf
    m = re.search(rb"^(?:content-length|l)\s*:\s*(\d+)", head, re.M | re.I)
    size = int(m.group(1)) if m else 0
    if len(rest) < size:
        return None, buf
    return head + sep + rest[:size], rest[size:]


def _headers(text):
    """(request line, {lower-case name: [values]}) of a message."""
    lines = text.split("\r\n\r\n", 1)[0].split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    return lines[0], hdrs


class CallProvider(Registrar):
    """A provider that also takes calls over TCP or TLS: 100 and 200 (with
    SDP) to an INVITE, nothing to the ACK, 200 to a BYE. `calls` holds
    every request but REGISTER, in order, as text."""

    def __init__(self, *args, **kw):
        self.calls = []
        super().__init__(*args, **kw)

    def methods(self):
        with self.lock:
            return [c.split(" ", 1)[0] for c in self.calls]

    def answer(self, text):
        line, hdrs = _headers(text)
        method = line.split(" ", 1)[0]
        if method == "REGISTER":
            return super().answer(text)
        with self.lock:
            self.calls.append(text)
        if method == "ACK":
            return None
        ip, port = self.sock.getsockname()
        tag = ";tag=prov1" if method == "INVITE" else ""
        copy = "".join(f"{k}: {v}{tag if k == 'to' else ''}\r\n"
                       for k in ("via", "from", "to", "call-id", "cseq") for v in hdrs.get(k, []))
        if method != "INVITE":
            return f"SIP/2.0 200 OK\r\n{copy}Content-Length: 0\r\n\r\n"
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
               f"m=audio 40990 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        trying = "".join(f"{k}: {v}\r\n" for k in ("via", "from", "to", "call-id", "cseq")
                         for v in hdrs.get(k, []))
        return (f"SIP/2.0 100 Trying\r\n{trying}Content-Length: 0\r\n\r\n"
                f"SIP/2.0 200 OK\r\n{copy}Contact: <sip:{ip}:{port};transport={'tls' if self.tls_ctx else 'tcp'}>\r\n"
                f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")


def tls_server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


# ---- DNS ----

TYPES = {"A": 1, "NAPTR": 35, "SRV": 33, "AAAA": 28}


def _qname(data, off):
    labels = []
    while data[off]:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode())
        off += 1 + n
    return ".".join(labels).lower(), off + 1


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def _rdata(rtype, value):
    if rtype == "A":
        return socket.inet_aton(value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype == "SRV":
        prio, weight, port, target = value
        return struct.pack("!HHH", prio, weight, port) + _encode_name(target)
    if rtype == "NAPTR":
        order, pref, flags, service, regexp, repl = value
        s = lambda t: bytes([len(t)]) + t.encode()
        return struct.pack("!HH", order, pref) + s(flags) + s(service) + s(regexp) + _encode_name(repl)
    raise ValueError(rtype)


class DnsServer:
    """Answers from records {(name, type): [(ttl, value), ...]} on
    127.0.0.x over UDP; anything else gets an empty NOERROR (or NXDOMAIN
    for names not in the table at all). `queries` logs (name, type)."""

    def __init__(self, records, ip="127.0.0.1"):
        self.records = {(n.lower(), t): v for (n, t), v in records.items()}
        self.queries = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(0.2)
        self.addr = f"{ip}:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            try:
                self.sock.sendto(self._answer(data), addr)
            except (IndexError, struct.error):
                continue

    def _answer(self, q):
        qid = q[:2]
        name, off = _qname(q, 12)
        qtype = struct.unpack("!H", q[off:off + 2])[0]
        question = q[12:off + 4]
        tname = next((k for k, v in TYPES.items() if v == qtype), str(qtype))
        self.queries.append((name, tname))
        rrs = self.records.get((name, tname), [])
        known = any(n == name for n, _ in self.records)
        rcode = 0 if known else 3
        ans = b""
        for ttl, value in rrs:
            rd = _rdata(tname, value)
            ans += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, ttl, len(rd)) + rd
        flags = 0x8180 | rcode
        return qid + struct.pack("!HHHHH", flags, 1, len(rrs), 0, 0) + question + ans


# ---- the trunk as the daemon shows it ----

def trunk_show(inst, name="prov"):
    out = inst.cli("trunk", "show", name).stdout
    return dict(re.findall(r"^(\w+): (.*)$", out, re.M))


def wait_trunk_state(inst, state, timeout=10, name="prov"):
    deadline = time.time() + timeout
    t = trunk_show(inst, name)
    while time.time() < deadline:
        t = trunk_show(inst, name)
        if t["state"] == state:
            return t
        time.sleep(0.1)
    raise AssertionError(f"trunk {name} is {t}, not {state}:\n{inst.daemon_output()[-3000:]}")


# ---- SIPp as the provider of the call tests ----
# The provider is 127.0.0.50, and the trunk 'prov' leads to it. SIPp 3.6
# answers only MD5 challenges, so instances that SIPp calls offer MD5 alone.

PROVIDER_IP = "127.0.0.50"


def trunk_pbx(instance, provider_port=5060, trunk_args=(), commands=(), host=PROVIDER_IP,
              env=None, exts=("1001", "1002"), did=("+441632960100", "1001"), **sections):
    """An instance with extensions `exts`, a trunk 'prov' to the
    provider's address (or `host`; port None: none given) and a DID for
    1001; `commands` (CLI argument tuples) run before the daemon starts,
    so it never races a reload; `env` is the daemon's extra environment."""
    sections.setdefault("registrar", {})["digest_algorithms"] = "md5"
    configure(instance, **sections)
    for ext in exts:
        if ext not in instance.passwords:  # `init` creates the first few
            instance.passwords[ext] = instance.add_ext(ext)
    port = ("--port", str(provider_port)) if provider_port else ()
    instance.cli("trunk", "add", "prov", "--host", host, *port, *trunk_args)
    instance.cli("did", "add", did[0], "--ext", did[1])
    for args in commands:
        instance.cli(*args)
    instance.start(extra_env=env)
    return instance


def sipp(workdir, name, scenario, ip, port, extra, target=None, calls=1):
    """SIPp with its message trace; calls=None runs until it is stopped."""
    limit = ["-m", str(calls), "-timeout", "30s", "-timeout_error"] if calls else []
    cmd = [SIPP, "-sf", os.path.join(DATA, scenario), "-i", ip, "-p", str(port), "-nostdin"] + limit + [
           "-trace_err", "-error_file", os.path.join(workdir, f"{name}.err"),
           "-trace_msg", "-message_file", os.path.join(workdir, f"{name}.msg")] + list(extra)
    if target:
        cmd.append(target)
    return subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def provider_uas(workdir, scenario, port, extra=(), calls=1):
    return sipp(workdir, "prov", scenario, PROVIDER_IP, port,
                ["-mi", PROVIDER_IP, "-mp", str(free_udp_port(PROVIDER_IP))] + list(extra),
                calls=calls)


def received_invites(workdir, name, timeout=10.0, n=1):
    """The INVITEs SIPp logged as received (text), once n of them are there."""
    def invites(text):
        blocks = re.findall(r"message received \[\d+\] bytes :\n\n(INVITE .*?)\n\n", text, re.S)
        return blocks if len(blocks) >= n else None
    return trace_when(workdir, name, invites, timeout, f"{n} INVITEs")


def header(block, name):
    m = re.search(rf"^{name}:\s*(.*)$", block, re.M | re.I)
    return m.group(1).strip() if m else None
