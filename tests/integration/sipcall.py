"""Call-capable SIP phones for the integration tests (UDP only).

A Phone owns one UDP socket on a chosen 127.x address. It registers from
that socket (so the daemon sends the callee leg back to it), places calls
(INVITE, the 407 challenge, ACK, CANCEL) and answers them, and sends and
answers in-dialog requests (BYE, re-INVITE, UPDATE, INFO). It does what a
UDP transaction layer must for the tests to be deterministic: answers are
re-sent when a request is retransmitted, a retransmitted 2xx to INVITE is
ACKed again, and every wait has a timeout.
"""
import csv
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import BIN, Instance, free_port

from sipua import (T1, Conn, UA, authorization, canon, new_branch, new_call_id,
                   new_tag, parse_challenge, parse_contact)


class Msg:
    """A parsed SIP request or response; `raw` keeps the exact bytes."""

    def __init__(self, raw, src=None):
        self.raw = raw
        self.src = src
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", errors="replace").split("\r\n")
        self.start = lines[0]
        m = re.match(r"^SIP/2\.0 (\d{3}) ?(.*)$", lines[0])
        if m:
            self.status, self.reason = int(m.group(1)), m.group(2)
            self.method, self.ruri = None, None
        else:
            m = re.match(r"^([A-Z]+) (\S+) SIP/2\.0$", lines[0])
            if not m:
                raise ValueError(f"not a SIP message: {lines[0]!r}")
            self.method, self.ruri = m.group(1), m.group(2)
            self.status, self.reason = None, None
        self.headers = []
        for ln in lines[1:]:
            if ln[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + ln.strip())
                continue
            name, sep, value = ln.partition(":")
            if sep:
                self.headers.append((name.strip(), value.strip()))

    @property
    def is_request(self):
        return self.method is not None

    def get_all(self, name):
        c = canon(name)
        return [v for n, v in self.headers if canon(n) == c]

    def get(self, name):
        vals = self.get_all(name)
        return vals[0] if vals else None

    def header_names(self):
        return [canon(n) for n, _ in self.headers]

    @property
    def cseq(self):
        n, _, meth = (self.get("cseq") or "0 X").partition(" ")
        return int(n), meth.strip()

    @property
    def branch(self):
        m = re.search(r";\s*branch=([^;,\s]+)", self.get("via") or "")
        return m.group(1) if m else None

    @property
    def call_id(self):
        return self.get("call-id")

    def tag(self, header):
        m = re.search(r";\s*tag=([^;>\s]+)", self.get(header) or "")
        return m.group(1) if m else None

    def contact_uri(self):
        c = self.get("contact")
        return parse_contact(c)[0] if c else None

    def sdp(self):
        return parse_sdp(self.body) if self.body else None

    def text(self):
        return self.raw.decode("utf-8", errors="replace")

    def __repr__(self):
        return f"<Msg {self.start}>"


def parse_sdp(body):
    """The parts of an SDP body the tests look at: c= address, first audio
    m= port, direction attributes, every line."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    lines = [l for l in re.split(r"\r?\n", text) if l]
    out = {"lines": lines, "c": [], "m": [], "attrs": [], "o": None}
    for l in lines:
        if l.startswith("c="):
            out["c"].append(l[2:].split()[-1])
        elif l.startswith("m="):
            parts = l[2:].split()
            out["m"].append((parts[0], int(parts[1]), parts[2], parts[3:]))
        elif l.startswith("a="):
            out["attrs"].append(l[2:])
        elif l.startswith("o="):
            out["o"] = l[2:]
    out["addr"] = out["c"][0] if out["c"] else None
    out["port"] = out["m"][0][1] if out["m"] else None
    return out


def make_sdp(ip, port, direction="sendrecv", session=None, pt=0):
    session = session or str(secrets.randbelow(10**9))
    enc = {0: "PCMU/8000", 8: "PCMA/8000"}[pt]
    lines = ["v=0", f"o=- {session} 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0",
             f"m=audio {port} RTP/AVP {pt} 101", f"a=rtpmap:{pt} {enc}",
             "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20",
             f"a={direction}"]
    return ("\r\n".join(lines) + "\r\n").encode()


class Phone:
    """One UDP endpoint on (ip, port) speaking to a Ringfence instance."""

    def __init__(self, inst, ext, ip="127.0.0.1", port=0, password=None,
                 user_agent="rf-test-phone/1.0"):
        self.inst = inst
        self.ext = str(ext)
        self.password = password if password is not None else inst.passwords.get(self.ext, "")
        self.conn = Conn("udp", "127.0.0.1", inst.port, src=ip, src_port=port)
        self.ip, self.port = self.conn.local
        self.domain = "127.0.0.1"
        self.user_agent = user_agent
        self.queue = []          # received messages not yet taken
        self.answered = {}       # (branch, method) -> bytes of our last answer
        self.acks = {}           # (call-id, cseq) -> bytes of our ACK to a 2xx
        self.log = []            # every message received, in order
        self.max_forwards = 70

    # ---- transport ----
    def send(self, data, dest=None):
        if dest is None:
            self.conn.send(data)
        else:
            self.conn.sock.sendto(data, dest)

    def _pump(self, timeout):
        """Receive at most one datagram within timeout and queue it, doing
        the retransmission duties. Returns the new Msg or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.conn.sock.settimeout(left)
            try:
                data, src = self.conn.sock.recvfrom(70000)
            except (socket.timeout, BlockingIOError):
                return None
            if data.strip() == b"":
                continue
            try:
                m = Msg(data, src)
            except ValueError:
                continue
            self.log.append(m)
            if m.is_request and m.method != "ACK":
                key = (m.branch, m.method)
                if key in self.answered:
                    self.send(self.answered[key], src)
                    continue
                if any(q.is_request and (q.branch, q.method) == key for q in self.queue):
                    continue
            elif not m.is_request and 200 <= m.status < 300 and m.cseq[1] == "INVITE":
                ack = self.acks.get((m.call_id, m.cseq[0]))
                if ack is not None:
                    self.send(ack)
                    continue
                if any((not q.is_request) and q.raw == m.raw for q in self.queue):
                    continue
            self.queue.append(m)
            return m

    def take(self, pred, timeout, what="message"):
        """The first queued (or arriving) message matching pred, removed
        from the queue; None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.queue):
                if pred(m):
                    return self.queue.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(left)

    def expect(self, pred, timeout, what):
        m = self.take(pred, timeout)
        assert m is not None, (f"{self.ext}@{self.ip}:{self.port}: no {what} within {timeout} s; "
                               f"received: {[x.start for x in self.log]}")
        return m

    def expect_request(self, method, timeout=5.0, call_id=None):
        return self.expect(lambda m: m.is_request and m.method == method and
                           (call_id is None or m.call_id == call_id), timeout, method)

    def drain(self, duration):
        """Keep answering retransmissions for `duration` seconds."""
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())

    def respond(self, req, status, reason=None, body=b"", to_tag=None, extra=(),
                contact=True):
        """Answer a received request; the answer is remembered so that a
        retransmitted request gets it again."""
        reason = reason or REASONS.get(status, "Answer")
        lines = [f"SIP/2.0 {status} {reason}"]
        for v in req.get_all("via"):
            lines.append(f"Via: {v}")
        for v in req.get_all("record-route"):
            lines.append(f"Record-Route: {v}")
        lines.append(f"From: {req.get('from')}")
        to = req.get("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines.append(f"To: {to}")
        lines.append(f"Call-ID: {req.call_id}")
        lines.append(f"CSeq: {req.get('cseq')}")
        if contact and req.method in ("INVITE", "UPDATE") and status < 300:
            lines.append(f"Contact: <sip:{self.ext}@{self.ip}:{self.port}>")
        lines += list(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if status >= 200 or req.method == "INVITE":
            self.answered[(req.branch, req.method)] = data
        self.send(data, req.src)
        return data

    # ---- registration ----
    def register(self, alg=None, expires=3600):
        """REGISTER from this socket; alg None answers SHA-256 when offered,
        else MD5."""
        ua = UA(self.conn, self.ext, self.password, user_agent=self.user_agent,
                contact=f"<sip:{self.ext}@{self.ip}:{self.port}>")
        first = ua.request(expires=expires)
        assert first is not None and first.status == 401, first
        offered = [p.get("algorithm", "MD5").upper() for _, p in first.challenges()]
        alg = alg or ("SHA-256" if "SHA-256" in offered else "MD5")
        final = ua.request(expires=expires, auth=ua.auth_for(first, alg))
        assert final.status == 200, final.raw.decode(errors="replace")
        return final

    # ---- requests we send ----
    def request_bytes(self, method, ruri, from_hdr, to_hdr, call_id, cseq, branch=None,
                      body=b"", extra=(), content_type="application/sdp", contact=True):
        lines = [f"{method} {ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.ip}:{self.port};branch={branch or new_branch()};rport",
                 f"Max-Forwards: {self.max_forwards}", f"From: {from_hdr}", f"To: {to_hdr}",
                 f"Call-ID: {call_id}", f"CSeq: {cseq} {method}"]
        if contact and method in ("INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"):
            lines.append(f"Contact: <sip:{self.ext}@{self.ip}:{self.port}>")
        if self.user_agent:
            lines.append(f"User-Agent: {self.user_agent}")
        lines += list(extra)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    def transact(self, data, timeout=5.0, dest=None, want_final=True):
        """Send a non-ACK request and wait for its final answer (UDP
        retransmission on timer E); returns (final or None, provisionals)."""
        self.send(data, dest)
        return self.wait_answer(data, timeout, dest, want_final)

    def wait_answer(self, data, timeout=5.0, dest=None, want_final=True):
        """Wait for the answer to a request already sent, retransmitting it
        on timer E until a provisional comes."""
        m0 = Msg(data)
        branch, (cseq, meth) = m0.branch, m0.cseq
        deadline = time.monotonic() + timeout
        interval, next_retx = T1, time.monotonic() + T1
        prov = []
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None, prov
            r = self.take(lambda m: not m.is_request and m.branch == branch and
                          m.cseq == (cseq, meth), min(deadline, next_retx) - now)
            if r is None:
                if time.monotonic() >= next_retx and not prov:
                    self.send(data, dest)
                    interval = min(interval * 2, 4.0)
                    next_retx = time.monotonic() + interval
                elif time.monotonic() >= next_retx:
                    next_retx = time.monotonic() + 4.0
                continue
            if r.status < 200:
                prov.append(r)
                if not want_final:
                    return r, prov
                continue
            return r, prov

    def proxy_auth(self, challenge, method, uri, password=None, user=None):
        vals = challenge.get_all("proxy-authenticate") or challenge.get_all("www-authenticate")
        assert vals, f"no challenge in {challenge.text()}"
        chs = [parse_challenge(v) for v in vals]
        alg_params = None
        for want in ("SHA-256", "MD5"):
            for scheme, p in chs:
                if scheme.lower() == "digest" and p.get("algorithm", "MD5").upper() == want:
                    alg_params = (want, p)
                    break
            if alg_params:
                break
        assert alg_params, vals
        alg, p = alg_params
        hdr = "Proxy-Authorization" if challenge.status == 407 else "Authorization"
        return hdr, authorization(alg, user or self.ext, p["realm"],
                                  self.password if password is None else password,
                                  method, uri, p["nonce"])

    # ---- calls ----
    def call(self, target, sdp=b"", **kw):
        c = Call(self, target, sdp, **kw)
        c.invite()
        return c

    def incoming(self, timeout=5.0):
        """The next INVITE for this phone, as a callee-side Dialog."""
        inv = self.expect_request("INVITE", timeout)
        return Incoming(self, inv)


REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
           403: "Forbidden", 481: "Call/Transaction Does Not Exist", 486: "Busy Here",
           487: "Request Terminated", 488: "Not Acceptable Here", 603: "Decline"}


class Dialog:
    """In-dialog state shared by both sides."""

    phone = None
    remote_target = None
    local_from = None     # our From/To header values as we send them
    remote_to = None
    call_id = None
    local_cseq = 1
    route = ()

    def build(self, method, body=b"", extra=(), cseq=None, branch=None,
              content_type="application/sdp"):
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        return self.phone.request_bytes(method, self.remote_target, self.local_from,
                                        self.remote_to, self.call_id, cseq, branch=branch,
                                        body=body, content_type=content_type,
                                        extra=[f"Route: {r}" for r in self.route] + list(extra))

    def request(self, method, body=b"", extra=(), timeout=5.0, content_type="application/sdp"):
        """Send an in-dialog request, answering one digest challenge with a
        new CSeq; ACK a 2xx to a re-INVITE. Returns the final answer."""
        data = self.build(method, body, extra, content_type=content_type)
        r, _ = self.phone.transact(data, timeout)
        if r is not None and r.status in (401, 407):
            hdr, val = self.phone.proxy_auth(r, method, self.remote_target)
            data = self.build(method, body, list(extra) + [f"{hdr}: {val}"],
                              content_type=content_type)
            r, _ = self.phone.transact(data, timeout)
        if r is not None and method == "INVITE" and r.status >= 200:
            self.ack_invite(r)
        return r

    def start_request(self, method, body=b"", extra=(), content_type="application/sdp",
                      challenge_wait=0.4):
        """Send an in-dialog request without waiting for the peer to answer
        it; a digest challenge arriving within challenge_wait is answered
        (new CSeq). Returns the bytes of the request now outstanding."""
        data = self.build(method, body, extra, content_type=content_type)
        self.phone.send(data)
        m0 = Msg(data)
        r = self.phone.take(lambda m: not m.is_request and m.branch == m0.branch and
                            m.status in (401, 407), challenge_wait)
        if r is None:
            return data
        hdr, val = self.phone.proxy_auth(r, method, self.remote_target)
        data = self.build(method, body, list(extra) + [f"{hdr}: {val}"], content_type=content_type)
        self.phone.send(data)
        return data

    def finish_request(self, data, timeout=5.0):
        """The final answer to a request from start_request (a 2xx to a
        re-INVITE is ACKed)."""
        r, _ = self.phone.wait_answer(data, timeout)
        if r is not None and Msg(data).method == "INVITE":
            self.ack_invite(r)
        return r

    def ack_invite(self, r):
        cseq = r.cseq[0]
        if r.status >= 300:
            return
        ack = self.phone.request_bytes("ACK", self.remote_target, self.local_from,
                                       self.remote_to, self.call_id, cseq,
                                       extra=[f"Route: {x}" for x in self.route])
        self.phone.acks[(self.call_id, cseq)] = ack
        self.phone.send(ack)

    def bye(self, timeout=5.0):
        return self.request("BYE", timeout=timeout)

    def answer_request(self, method, status=200, body=b"", timeout=5.0):
        """Wait for an in-dialog request of this dialog and answer it."""
        req = self.phone.expect(lambda m: m.is_request and m.method == method and
                                m.call_id == self.call_id, timeout, f"{method} in dialog")
        self.phone.respond(req, status, body=body)
        return req


class Call(Dialog):
    """The caller's side of one call through the PBX."""

    def __init__(self, phone, target, sdp=b"", extra=(), password=None, user=None,
                 authenticate=True, ruri=None):
        self.phone = phone
        self.target = str(target)
        self.sdp = sdp
        self.extra = list(extra)
        self.password, self.user = password, user
        self.authenticate = authenticate
        self.call_id = new_call_id()
        self.from_tag = new_tag()
        self.local_from = f"<sip:{phone.ext}@{phone.domain}>;tag={self.from_tag}"
        self.remote_to = f"<sip:{self.target}@{phone.domain}>"
        self.ruri = ruri or f"sip:{self.target}@{phone.domain}"
        self.remote_target = self.ruri
        self.local_cseq = 1
        self.challenge = None
        self.provisionals = []
        self.final = None
        self.invite_bytes = None
        self.route = ()

    def _invite(self, extra):
        self.invite_branch = new_branch()
        return self.phone.request_bytes("INVITE", self.ruri, self.local_from, self.remote_to,
                                        self.call_id, self.local_cseq, branch=self.invite_branch,
                                        body=self.sdp, extra=self.extra + list(extra))

    def _ack_failure(self, r, branch):
        """ACK for a non-2xx final: same branch as the INVITE (RFC 3261 17.1.1.3)."""
        ack = self.phone.request_bytes("ACK", self.ruri, self.local_from, r.get("to"),
                                       self.call_id, r.cseq[0], branch=branch, contact=False)
        self.phone.send(ack)

    def invite(self, timeout=5.0):
        """INVITE, expect the 407, ACK it, resend with credentials. Returns
        the first answer to the authenticated INVITE (provisional or final)."""
        data = self._invite(())
        r, prov = self.phone.transact(data, timeout)
        assert r is not None, f"no answer to INVITE from {self.phone.ext}"
        self.challenge = r
        if not self.authenticate or r.status != 407:
            if r.status >= 300:
                self._ack_failure(r, self.invite_branch)
            self.final = r if r.status >= 200 else None
            return r
        self._ack_failure(r, self.invite_branch)
        hdr, val = self.phone.proxy_auth(r, "INVITE", self.ruri, self.password, self.user)
        self.local_cseq += 1
        self.auth_header = f"{hdr}: {val}"
        self.invite_bytes = self._invite([self.auth_header])
        r, prov = self.phone.transact(self.invite_bytes, timeout, want_final=False)
        assert r is not None, f"no answer to authenticated INVITE from {self.phone.ext}"
        if r.status < 200:
            self.provisionals.append(r)
        else:
            self._got_final(r)
        return r

    def _got_final(self, r):
        self.final = r
        if r.status >= 300:
            self._ack_failure(r, self.invite_branch)
            return
        if 200 <= r.status < 300:
            self.remote_to = r.get("to")
            self.remote_target = r.contact_uri() or self.ruri
            self.route = tuple(reversed(r.get_all("record-route")))
            self.ack_invite(r)

    def wait_provisional(self, status, timeout=5.0):
        for p in self.provisionals:
            if p.status == status:
                return p
        while True:
            r = self.phone.take(lambda m: not m.is_request and m.branch == self.invite_branch,
                                timeout)
            assert r is not None, f"no {status} for the call within {timeout} s; got {self.provisionals}"
            if r.status >= 200:
                self._got_final(r)
                raise AssertionError(f"final {r.status} while waiting for {status}")
            self.provisionals.append(r)
            if r.status == status:
                return r

    def wait_final(self, timeout=10.0):
        if self.final is not None:
            return self.final
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            r = self.phone.take(lambda m: not m.is_request and m.branch == self.invite_branch,
                                max(left, 0))
            assert r is not None, f"no final answer for the call within {timeout} s; got {self.provisionals}"
            if r.status < 200:
                self.provisionals.append(r)
                continue
            self._got_final(r)
            return r

    def cancel(self, timeout=5.0):
        data = self.phone.request_bytes("CANCEL", self.ruri, self.local_from,
                                        f"<sip:{self.target}@{self.phone.domain}>",
                                        self.call_id, self.local_cseq, branch=self.invite_branch,
                                        contact=False)
        r, _ = self.phone.transact(data, timeout)
        return r


class Incoming(Dialog):
    """The callee's side: an INVITE received from the PBX."""

    def __init__(self, phone, invite):
        self.phone = phone
        self.invite = invite
        self.call_id = invite.call_id
        self.to_tag = new_tag()
        self.local_from = f"{invite.get('to')};tag={self.to_tag}"
        self.remote_to = invite.get("from")
        self.remote_target = invite.contact_uri()
        self.route = tuple(invite.get_all("record-route"))
        self.local_cseq = 100

    def ring(self, status=180, body=b""):
        return self.phone.respond(self.invite, status, body=body, to_tag=self.to_tag)

    def answer(self, body, timeout=5.0, wait_ack=True):
        self.phone.respond(self.invite, 200, body=body, to_tag=self.to_tag)
        if wait_ack:
            return self.wait_ack(timeout)
        return None

    def wait_ack(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            ack = self.phone.take(lambda m: m.is_request and m.method == "ACK" and
                                  m.call_id == self.call_id, 0.5)
            if ack is not None:
                return ack
            assert time.monotonic() < deadline, f"no ACK for the 200 within {timeout} s"
            # UDP: the 2xx is retransmitted by the UAS core until the ACK comes
            self.phone.send(self.phone.answered[(self.invite.branch, "INVITE")], self.invite.src)

    def reject(self, status, timeout=5.0):
        """A final failure; waits for the hop-by-hop ACK."""
        self.phone.respond(self.invite, status, to_tag=self.to_tag)
        return self.phone.expect(lambda m: m.is_request and m.method == "ACK" and
                                 m.call_id == self.call_id, timeout, f"ACK for {status}")


# ---- shared pieces of the call tests ----
# Whether the daemon routes calls at all, relay port blocks for instances,
# and the CDR as the CLI prints it.

_available = None


def b2bua_available():
    """True when the binary answers an authenticated INVITE to a known but
    unregistered extension with something other than 501 (probed once on a
    throw-away instance)."""
    global _available
    if _available is not None:
        return _available
    _available = False
    if not os.access(BIN, os.X_OK):
        return False
    base = tempfile.mkdtemp(prefix="rf-probe-")
    os.chmod(base, 0o755)
    inst = None
    try:
        inst = Instance(base, free_port())
        inst.start()
        phone = Phone(inst, "1001")
        try:
            call = phone.call("1002")
            r = call.wait_final(5.0) if call.final is None else call.final
            _available = r is not None and r.status not in (501, 407)
        finally:
            phone.conn.close()
    except (AssertionError, OSError, subprocess.SubprocessError):
        _available = False
    finally:
        if inst is not None:
            try:
                inst.stop()
            except AssertionError:
                pass
        shutil.rmtree(base, ignore_errors=True)
    return _available


_block_seq = 10000 + (os.getpid() % 100) * 80


def rtp_block(n):
    """A run of n ports (even start) in 10000-19999, below both the
    instances' SIP ports and the ephemeral range, all free right now."""
    global _block_seq
    for _ in range(200):
        start = _block_seq
        _block_seq += ((n + 1) // 2) * 2 + 2
        if _block_seq + n > 19990:
            _block_seq = 10000
        ok = True
        for p in range(start, start + n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return start, start + n - 1
    raise RuntimeError("no free relay port block")


def configure(inst, ports=64, **sections):
    """Give the instance its own relay port block and extra settings:
    configure(inst, calls={"max_duration": 10})."""
    lo, hi = rtp_block(ports)
    inst.set_conf("media", "rtp_port_min", str(lo))
    inst.set_conf("media", "rtp_port_max", str(hi))
    for section, kv in sections.items():
        for k, v in kv.items():
            inst.set_conf(section, k, str(v))
    inst.rtp_range = (lo, hi)
    return lo, hi


# ---- CDR ----

_CDR_ALIASES = {
    "caller": ("caller", "from", "src"),
    "callee": ("callee", "to", "dst", "dialled", "dialed"),
    "result": ("result", "status", "code", "result_code"),
    "start": ("start_ms", "start", "start_time", "started", "start_at"),
    "answer": ("answer_ms", "answer", "answer_time", "answered", "answer_at"),
    "end": ("end_ms", "end", "end_time", "ended", "end_at"),
    "duration": ("duration_s", "duration", "billsec"),
    "hangup": ("hangup", "hangup_by", "hangup_cause", "ended_by"),
    "packets_a": ("packets_a", "packets_caller", "caller_packets", "packets_in_a", "pkts_a"),
    "packets_b": ("packets_b", "packets_callee", "callee_packets", "packets_in_b", "pkts_b"),
    "dropped_foreign": ("dropped_foreign", "dropped", "foreign_dropped"),
    "srtp": ("srtp",),
    "call_id": ("call_id", "callid"),
}


def _normalise(d):
    low = {str(k).lower(): v for k, v in d.items()}
    row = {"raw": d}
    for field, names in _CDR_ALIASES.items():
        row[field] = next((low[n] for n in names if n in low), None)
    for k in ("result", "packets_a", "packets_b", "dropped_foreign", "duration",
              "start", "answer", "end"):
        v = row[k]
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            row[k] = int(v)
    if isinstance(row["srtp"], str):
        row["srtp"] = row["srtp"].strip().lower() in ("1", "true", "yes")
    for k in ("caller", "callee", "hangup"):
        if row[k] is not None:
            row[k] = str(row[k])
    return row


def cdr_list(inst):
    """`ringfence cdr list --json` rows, normalised (raw values under 'raw')."""
    out = inst.cli("cdr", "list", "--json").stdout
    data = json.loads(out) if out.strip() else []
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        assert len(lists) == 1, f"unexpected cdr list --json shape: {out}"
        data = lists[0]
    assert isinstance(data, list), f"unexpected cdr list --json shape: {out}"
    return [_normalise(d) for d in data]


def cdr_export_csv(inst):
    out = inst.cli("cdr", "export", "--csv").stdout
    return [_normalise(d) for d in csv.DictReader(io.StringIO(out))]


def wait_cdr(inst, n, pred=None, timeout=3.0):
    """Poll until at least n rows (matching pred) exist; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        rows = [r for r in cdr_list(inst) if pred is None or pred(r)]
        if len(rows) >= n or time.monotonic() >= deadline:
            return rows
        time.sleep(0.1)
