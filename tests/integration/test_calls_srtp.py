"""SRTP (SDES, RFC 4568) in calls through the B2BUA, against the real daemon
(issue 3, section 3, and "RTP on one leg and SRTP on the other").

Phones are the Python UAs of sipcall.py on their own 127.x addresses (the
LAN, so an a=crypto over UDP is allowed). Each phone holds only its own
keys, as a real phone does: it protects what it sends with the key it put
in its own SDP, and decrypts what it receives with the key Ringfence wrote
into the SDP it received. SRTP itself is the system libsrtp2 through
srtp.py. So a payload that crosses the call proves that the relay
decrypted with one leg's key and encrypted with the other's.

What is checked:
- each leg gets its own fresh key; no key crosses from one leg to the other;
- the offer's first usable a=crypto line is taken, with its tag and suite;
- payloads cross both ways for SRTP<->SRTP, RTP<->SRTP and SRTP<->RTP,
  in the right form on each leg, from the relay's address only;
- tampered SRTP and plain RTP into an SRTP leg are dropped;
- the per-extension policy: required, optional, off, and its refusals
  (488 with the security event `srtp_refused`);
- re-INVITE (hold, resume) keeps SRTP both ways;
- an a=crypto over UDP from outside the LAN never reaches a callee: the
  access check refuses the source first (key_exposed in call_srtp.c is the
  second line of defence);
- the CDR's srtp_a, srtp_b and srtp, and the media counters;
- no key ever reaches the security log or the daemon's output.
"""
import base64
import ctypes
import os
import re
import secrets
import socket
import threading
import time

import pytest

import srtp
from rtp import RtpPeer, parse_rtp, rtcp_sender_report, rtp_packet, rtp_rtcp_pair
from sipcall import Phone, b2bua_available, configure, make_sdp, wait_cdr
from sipua import Conn, wait_for_event
from srtp import SdesKey, SrtpReceiver, SrtpSender, make_srtp_sdp

pytestmark = [
    pytest.mark.skipif(not b2bua_available(),
                       reason="the daemon does not route calls yet (INVITE answered 501)"),
    pytest.mark.skipif(not srtp.available(), reason="libsrtp2 (libsrtp2-1) is not installed"),
]

CALLER_IP, CALLEE_IP = "127.0.0.2", "127.0.0.3"
S80, S32, GCM = "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AEAD_AES_128_GCM"
PAYLOAD = 160


# ---------------------------------------------------------------- rig

class Rig:
    def __init__(self, inst):
        self.inst = inst
        self.phones, self.rtps = [], []

    def phone(self, ext, ip, register=True):
        p = Phone(self.inst, ext, ip=ip)
        self.phones.append(p)
        if register:
            p.register()
        return p

    def media(self, ip, key=None):
        peer = RtpPeer(ip)
        self.rtps.append(peer)
        return Media(peer, key)

    def close(self):
        for r in self.rtps:
            r.close()
        for p in self.phones:
            p.conn.close()


def set_srtp(inst, ext, policy):
    inst.cli("ext", "set", ext, "--srtp", policy)


@pytest.fixture
def rig(instance):
    made = []

    def make(policies=None, ports=64, extra_ext=(), **sections):
        configure(instance, ports=ports, **sections)
        for args in extra_ext:
            instance.passwords[args[0]] = instance.add_ext(*args)
        for ext, policy in (policies or {}).items():
            set_srtp(instance, ext, policy)
        instance.start()
        r = Rig(instance)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


class Media:
    """A phone's RTP socket and its own SRTP state: `tx` protects what the
    phone sends (the key it offered or answered), `rx` decrypts what it
    receives (the key Ringfence gave it); None means plain RTP."""

    def __init__(self, peer, key=None):
        self.peer = peer
        self.port = peer.port
        self.key = key
        self.tx = SrtpSender(key) if key else None
        self.rx = None
        self.rx_key = None
        self.ssrc = secrets.randbelow(2**32 - 1) + 1
        self.seq = secrets.randbelow(30000)
        self.ts = secrets.randbelow(2**31)
        self.got = []        # (src, payload or None when it failed, raw bytes)
        self._seen = 0

    def receive_with(self, key):
        self.rx_key = key
        self.rx = SrtpReceiver(key) if key else None

    def send_with(self, key):
        self.key = key
        self.tx = SrtpSender(key) if key else None

    def packet(self, payload):
        pkt = rtp_packet(self.seq, self.ts, self.ssrc, payload=payload)
        self.seq += 1
        self.ts += PAYLOAD
        return pkt

    def send(self, dest, payload, tamper=False, plain=False):
        pkt = self.packet(payload)
        if self.tx is not None and not plain:
            pkt = self.tx.protect(pkt)
        if tamper:
            b = bytearray(pkt)
            b[-1] ^= 0x01          # last byte of the authentication tag
            pkt = bytes(b)
        self.peer.sock.sendto(pkt, dest)

    def poll(self):
        for src, raw in self.peer.datagrams()[self._seen:]:
            self._seen += 1
            if self.rx is not None:
                plain = self.rx.unprotect(raw)
            else:
                plain = raw if parse_rtp(raw) else None
            self.got.append((src, plain[12:] if plain is not None else None, raw))
        return self.got

    def wait(self, n, timeout=8.0):
        deadline = time.monotonic() + timeout
        while len(self.poll()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.got


def payload(label, i):
    return (f"{label}-{i:06d}-".encode() * 20)[:PAYLOAD]


def exchange(a, a_dest, b, b_dest, n=10, label="x"):
    """n packets each way with distinct payloads; waits until both sides
    have n more datagrams (or 8 s). Returns (sent by a, sent by b)."""
    pa = [payload(f"{label}A", i) for i in range(n)]
    pb = [payload(f"{label}B", i) for i in range(n)]
    a0, b0 = len(a.poll()), len(b.poll())
    for i in range(n):
        a.send(a_dest, pa[i])
        b.send(b_dest, pb[i])
        time.sleep(0.02)
    b.wait(b0 + n)
    a.wait(a0 + n)
    return pa, pb, a0, b0


def assert_received(m, sent, start, relay, srtp_on_wire, what):
    """What m received from `start` on is exactly `sent`, from the relay
    only, decryptable with the key m was given (SRTP) or readable as it is
    (RTP); in SRTP no payload appears in the clear on the wire."""
    got = m.got[start:]
    assert len(got) == len(sent), (f"{what}: {len(got)} datagrams arrived, {len(sent)} sent; "
                                   f"{sum(1 for g in got if g[1] is None)} did not decrypt")
    assert {g[0] for g in got} == {relay}, f"{what}: sources {[g[0] for g in got]} != relay {relay}"
    assert all(g[1] is not None for g in got), (
        f"{what}: {sum(1 for g in got if g[1] is None)} of {len(got)} datagrams failed "
        + ("SRTP authentication under the key in this phone's SDP" if srtp_on_wire
           else "to parse as plain RTP"))
    assert sorted(g[1] for g in got) == sorted(sent), f"{what}: payloads differ"
    for _, pl, raw in got:
        if srtp_on_wire:
            assert pl not in raw, f"{what}: payload in the clear on an SRTP leg"
            assert len(raw) > 12 + len(pl), f"{what}: no authentication tag"
        else:
            assert raw[12:] == pl and len(raw) == 12 + len(pl), f"{what}: not plain RTP"


# ---------------------------------------------------------------- SDP

def audio(sdp):
    """(proto, [crypto attribute values]) of the first m= section."""
    assert sdp and sdp["m"], sdp
    proto = sdp["m"][0][2]
    lines, in_first, seen_m = [], False, 0
    for l in sdp["lines"]:
        if l.startswith("m="):
            seen_m += 1
            in_first = seen_m == 1
        elif in_first and l.startswith("a=crypto:"):
            lines.append(l[2:])
    return proto, lines


def all_crypto(sdp):
    return [l[2:] for l in sdp["lines"] if l.startswith("a=crypto")]


def the_key(sdp, tag, suite, what):
    """RTP/SAVP with exactly one a=crypto line of this tag and suite, whose
    key has the suite's length; returns the SdesKey."""
    proto, lines = audio(sdp)
    assert proto == "RTP/SAVP", f"{what}: proto {proto}, lines {sdp['lines']}"
    assert len(lines) == 1 and len(all_crypto(sdp)) == 1, \
        f"{what}: want one a=crypto, got {len(all_crypto(sdp))}"
    t, s, key = srtp.parse_crypto(lines[0])
    assert (t, s) == (tag, suite), f"{what}: crypto tag/suite {(t, s)} != {(tag, suite)}"
    assert lines[0].startswith(f"crypto:{tag} {suite} inline:"), f"{what}: malformed a=crypto"
    assert len(key) == srtp.SUITES[suite][1], f"{what}: key of {len(key)} bytes for {suite}"
    return SdesKey(suite, key)


def assert_plain(sdp, what):
    proto, _ = audio(sdp)
    assert proto == "RTP/AVP", f"{what}: proto {proto}, lines {sdp['lines']}"
    assert all_crypto(sdp) == [], f"{what}: a=crypto present"


def relay_of(sdp):
    return (sdp["addr"], sdp["port"])


# ---------------------------------------------------------------- calls

class SrtpCall:
    """One call through the PBX: the caller's INVITE, what the callee got,
    the callee's answer, what the caller got."""

    def __init__(self, r, offer_media, offer_sdp, caller_ext="1001", callee_ext="1002"):
        self.r = r
        self.caller = r.phone(caller_ext, CALLER_IP)
        self.callee = r.phone(callee_ext, CALLEE_IP)
        self.a = offer_media
        self.call = self.caller.call(callee_ext, offer_sdp)
        self.inc = None
        self.final = None

    def callee_offer(self, timeout=10.0):
        self.inc = self.callee.incoming(timeout)
        self.b_sdp = self.inc.invite.sdp()
        self.b_relay = relay_of(self.b_sdp)
        return self.b_sdp

    def answer(self, b_media, answer_sdp):
        self.b = b_media
        self.inc.answer(answer_sdp, timeout=10.0)
        self.final = self.call.wait_final(10.0)
        assert self.final.status == 200, self.final.text()
        self.a_sdp = self.final.sdp()
        self.a_relay = relay_of(self.a_sdp)
        return self.a_sdp

    def hang_up(self):
        data = self.call.start_request("BYE")
        self.inc.answer_request("BYE", timeout=10.0)
        ans = self.call.finish_request(data, timeout=10.0)
        assert ans is not None and ans.status == 200, ans

    def cdr(self):
        rows = wait_cdr(self.r.inst, 1, lambda row: row["call_id"] == self.call.call_id
                        and row["end"], timeout=10)
        assert len(rows) == 1, rows
        return rows[0]


def assert_cdr_srtp(row, a, b):
    raw = row["raw"]
    for k in ("srtp_a", "srtp_b", "srtp"):
        assert k in raw, f"cdr list --json has no {k}: {raw}"
    assert (raw["srtp_a"], raw["srtp_b"], raw["srtp"]) == (a, b, a and b), raw


def assert_no_key_logged(inst, keys):
    """Neither the security log nor the daemon's output holds a key, in
    base64 or as an inline: parameter."""
    texts = {"security log": "\n".join(inst.security_events()),
             "daemon output": inst.daemon_output()}
    for where, text in texts.items():
        assert "inline:" not in text, f"{where} holds an a=crypto key parameter"
        for k in keys:
            assert base64.b64encode(k.material).decode() not in text, f"{where} holds a key"


def offer_keys(*suites):
    return [SdesKey.generate(s) for s in suites]


# ---------------------------------------------------------------- tests

def test_srtp_both_legs_own_keys_media_both_ways_and_tampering_dropped(rig):
    r = rig()
    inst = r.inst
    ka80, ka32 = offer_keys(S80, S32)
    a = r.media(CALLER_IP, ka80)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka80), (2, ka32)]))

    # The callee is offered SRTP with one key Ringfence made for it.
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    assert kb_given not in (ka80, ka32), "the caller's key was passed to the callee"

    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    a_sdp = c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)]))
    # The caller's answer: its chosen tag and suite, a fresh key.
    ka_given = the_key(a_sdp, 1, S80, "200 to the caller")
    assert ka_given not in (ka80, ka32, kb, kb_given), "a key was reused across legs"
    a.receive_with(ka_given)

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=20, label="s")
    assert_received(b, pa, b0, c.b_relay, True, "caller->callee")
    assert_received(a, pb, a0, c.a_relay, True, "callee->caller")

    # The callee's packets are not readable with the caller's own key,
    # and the caller's not with the callee's: each leg is encrypted anew.
    for raw in [g[2] for g in b.got[b0:b0 + 3]]:
        assert SrtpReceiver(ka80).unprotect(raw) is None, "callee got the caller's SRTP as is"
    for raw in [g[2] for g in a.got[a0:a0 + 3]]:
        assert SrtpReceiver(kb).unprotect(raw) is None, "caller got the callee's SRTP as is"

    # A tampered tag and a plain RTP packet from the caller's own address
    # are dropped; the valid packet after them gets through.
    n0 = len(b.poll())
    a.send(c.a_relay, payload("tampered", 0), tamper=True)
    a.send(c.a_relay, payload("plain", 0), plain=True)
    a.send(c.a_relay, payload("valid", 0))
    b.wait(n0 + 1)
    time.sleep(0.5)
    late = b.poll()[n0:]
    assert [g[1] for g in late] == [payload("valid", 0)], \
        f"after a tampered, a plain and a valid packet the callee got {len(late)} datagrams"
    # The same from the callee's side.
    n0 = len(a.poll())
    b.send(c.b_relay, payload("tamperedB", 0), tamper=True)
    b.send(c.b_relay, payload("validB", 0))
    a.wait(n0 + 1)
    time.sleep(0.5)
    late = a.poll()[n0:]
    assert [g[1] for g in late] == [payload("validB", 0)], \
        f"after a tampered and a valid packet the caller got {len(late)} datagrams"

    c.hang_up()
    row = c.cdr()
    assert row["result"] == 200, row["raw"]
    assert_cdr_srtp(row, True, True)
    assert row["packets_a"] >= 21 and row["packets_b"] >= 21, row["raw"]
    assert row["raw"].get("bytes_a", 0) >= 21 * 172 and row["raw"].get("bytes_b", 0) >= 21 * 172, \
        row["raw"]
    assert_no_key_logged(inst, [ka80, ka32, kb, kb_given, ka_given])


@pytest.mark.parametrize("offer, chosen", [
    # AES_256_CM is a suite the SDP parser knows (46-byte keys) but the
    # relay does not use: the next line is taken.
    ([(5, "AES_256_CM_HMAC_SHA1_80"), (7, GCM), (9, S80)], (7, GCM)),
    ([(3, S32), (4, S80)], (3, S32)),
    ([(2, GCM)], (2, GCM)),
], ids=["skips-aes256-takes-gcm", "takes-32", "gcm-only"])
def test_first_usable_crypto_line_is_taken_with_its_tag_and_suite(rig, offer, chosen):
    r = rig()
    keys = {}
    cryptos = []
    for tag, suite in offer:
        if suite in srtp.SUITES:
            keys[tag] = SdesKey.generate(suite)
            cryptos.append((tag, keys[tag]))
        else:
            raw = base64.b64encode(secrets.token_bytes(46)).decode()
            cryptos.append((tag, f"{suite} inline:{raw}"))
    tag, suite = chosen
    a = r.media(CALLER_IP, keys[tag])
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, cryptos))

    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    ka_given = the_key(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])),
                       tag, suite, "200 to the caller")
    assert ka_given not in list(keys.values()) + [kb, kb_given]
    a.receive_with(ka_given)

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=8, label=suite)
    assert_received(b, pa, b0, c.b_relay, True, f"caller ({suite})->callee")
    assert_received(a, pb, a0, c.a_relay, True, f"callee->caller ({suite})")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, True)


def test_rtp_caller_to_srtp_required_callee_is_bridged(rig):
    r = rig(policies={"1002": "required"})
    a = r.media(CALLER_IP)
    c = SrtpCall(r, a, make_sdp(CALLER_IP, a.port))

    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the required callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    assert_plain(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])), "200 to the RTP caller")

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=15, label="r2s")
    assert_received(b, pa, b0, c.b_relay, True, "RTP caller->SRTP callee")
    assert_received(a, pb, a0, c.a_relay, False, "SRTP callee->RTP caller")
    c.hang_up()
    row = c.cdr()
    assert_cdr_srtp(row, False, True)
    assert row["packets_a"] >= 15 and row["packets_b"] >= 15, row["raw"]


def test_srtp_caller_to_callee_with_srtp_off_is_bridged(rig):
    r = rig(policies={"1002": "off"})
    ka = SdesKey.generate(S80)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))

    assert_plain(c.callee_offer(), "INVITE to the callee with srtp off")
    b = r.media(CALLEE_IP)
    ka_given = the_key(c.answer(b, make_sdp(CALLEE_IP, b.port)), 1, S80, "200 to the SRTP caller")
    assert ka_given != ka
    a.receive_with(ka_given)

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=15, label="s2r")
    assert_received(b, pa, b0, c.b_relay, False, "SRTP caller->RTP callee")
    assert_received(a, pb, a0, c.a_relay, True, "RTP callee->SRTP caller")
    c.hang_up()
    row = c.cdr()
    assert_cdr_srtp(row, True, False)
    assert row["packets_a"] >= 15 and row["packets_b"] >= 15, row["raw"]


def test_optional_callee_answering_plain_rtp_gets_a_plain_leg(rig):
    r = rig()
    ka = SdesKey.generate(S80)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))

    the_key(c.callee_offer(), 1, S80, "INVITE to the optional callee")
    b = r.media(CALLEE_IP)           # the callee declines SRTP
    ka_given = the_key(c.answer(b, make_sdp(CALLEE_IP, b.port)), 1, S80, "200 to the caller")
    a.receive_with(ka_given)

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=10, label="opt")
    assert_received(b, pa, b0, c.b_relay, False, "SRTP caller->plain callee")
    assert_received(a, pb, a0, c.a_relay, True, "plain callee->SRTP caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, False)


@pytest.mark.parametrize("callee_policy", ["optional", "off"])
def test_rtp_caller_to_optional_or_off_callee_stays_plain(rig, callee_policy):
    r = rig(policies={"1002": callee_policy})
    a = r.media(CALLER_IP)
    c = SrtpCall(r, a, make_sdp(CALLER_IP, a.port))
    assert_plain(c.callee_offer(), "INVITE to the optional callee")
    b = r.media(CALLEE_IP)
    assert_plain(c.answer(b, make_sdp(CALLEE_IP, b.port)), "200 to the caller")
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=10, label="rtp")
    assert_received(b, pa, b0, c.b_relay, False, "caller->callee")
    assert_received(a, pb, a0, c.a_relay, False, "callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), False, False)


def test_caller_with_srtp_off_offering_srtp_gets_plain_rtp(rig):
    """A phone whose extension has SRTP off is answered RTP/AVP without a
    key, even when it offers one; its callee is offered plain RTP."""
    r = rig(policies={"1001": "off"})
    ka = SdesKey.generate(S80)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))
    assert_plain(c.callee_offer(), "INVITE to the callee of an srtp-off caller")
    b = r.media(CALLEE_IP)
    assert_plain(c.answer(b, make_sdp(CALLEE_IP, b.port)), "200 to the srtp-off caller")
    a.send_with(None)
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=5, label="off")
    assert_received(b, pa, b0, c.b_relay, False, "caller->callee")
    assert_received(a, pb, a0, c.a_relay, False, "callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), False, False)
    assert_no_key_logged(r.inst, [ka])


def test_remote_extension_is_always_srtp_required(rig):
    """A --remote extension is SRTP-required wherever it is: here on the
    LAN over UDP. Called, it is offered a key even by an RTP caller;
    calling without a key, it gets 488 and srtp_refused reason=required."""
    r = rig(extra_ext=(("1006", "--remote"),))
    a = r.media(CALLER_IP)
    c = SrtpCall(r, a, make_sdp(CALLER_IP, a.port), callee_ext="1006")
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the --remote callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    assert_plain(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])), "200 to the RTP caller")
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=5, label="rem")
    assert_received(b, pa, b0, c.b_relay, True, "RTP caller->--remote callee")
    assert_received(a, pb, a0, c.a_relay, False, "--remote callee->RTP caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), False, True)

    remote = Phone(r.inst, "1006", ip="127.0.0.4")
    r.phones.append(remote)
    remote.register()
    m = r.media("127.0.0.4")
    call = remote.call("1001", make_sdp("127.0.0.4", m.port))
    final = call.final or call.wait_final(10.0)
    assert final.status == 488, final.text()
    assert c.caller.take(lambda x: x.is_request and x.method == "INVITE", 1.0) is None
    assert event_lines(r.inst, "srtp_refused", "1006", "required"), r.inst.security_events()


def test_srtcp_crosses_on_port_plus_one_under_each_legs_key(rig):
    r = rig()
    ka, kb = SdesKey.generate(S80), SdesKey.generate(S80)
    a_rtp, a_rtcp = rtp_rtcp_pair(CALLER_IP)
    b_rtp, b_rtcp = rtp_rtcp_pair(CALLEE_IP)
    r.rtps += [a_rtp, a_rtcp, b_rtp, b_rtcp]
    a, b = Media(a_rtp, ka), Media(b_rtp, kb)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    ka_given = the_key(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])),
                       1, S80, "200 to the caller")
    a_ctl, b_ctl = (c.a_relay[0], c.a_relay[1] + 1), (c.b_relay[0], c.b_relay[1] + 1)

    # RTP first, so that both legs are live
    a.receive_with(ka_given)
    b.receive_with(kb_given)
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=3, label="pre")
    assert_received(b, pa, b0, c.b_relay, True, "caller->callee")

    for sender, sock, dest, rx_sock, rx_key, relay_ctl, what in (
            (a, a_rtcp, a_ctl, b_rtcp, kb_given, b_ctl, "caller->callee"),
            (b, b_rtcp, b_ctl, a_rtcp, ka_given, a_ctl, "callee->caller")):
        sr = rtcp_sender_report(sender.ssrc)
        for _ in range(3):
            sock.sock.sendto(sender.tx.protect_rtcp(sr), dest)
            time.sleep(0.05)
        assert rx_sock.wait_count(3, 8.0) >= 3, f"SRTCP {what}: nothing arrived on port+1"
        got = rx_sock.datagrams()
        assert {g[0] for g in got} == {relay_ctl}, f"SRTCP {what}: not from the relay's RTCP port"
        rx = SrtpReceiver(rx_key)
        assert [rx.unprotect_rtcp(g[1]) for g in got] == [sr] * 3, \
            f"SRTCP {what}: does not decrypt to the report under the receiving leg's key"
        assert all(sr[8:] not in g[1] for g in got)
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, True)


def event_lines(inst, event, ext, reason=None, timeout=5.0):
    pat = re.compile(rf' ext="?{re.escape(ext)}"?( |$)')
    lines = wait_for_event(inst, event, timeout=timeout)
    lines = [l for l in lines if pat.search(l + " ")]
    if reason is not None:
        lines = [l for l in lines if re.search(rf" reason={reason}( |$)", l)]
    return lines


def test_required_callee_answering_plain_rtp_ends_the_call(rig):
    r = rig(policies={"1002": "required"})
    ka = SdesKey.generate(S80)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))
    the_key(c.callee_offer(), 1, S80, "INVITE to the required callee")
    b = r.media(CALLEE_IP)
    c.inc.answer(make_sdp(CALLEE_IP, b.port), wait_ack=False)

    # The callee's dialog is ended with BYE; the caller gets 488.
    bye = c.callee.expect(lambda m: m.is_request and m.method == "BYE" and
                          m.call_id == c.inc.call_id, 10.0, "BYE after a plain answer")
    c.callee.respond(bye, 200)
    final = c.call.wait_final(10.0)
    assert final.status == 488, final.text()
    assert c.caller.take(lambda m: m.is_request and m.method == "BYE", 1.0) is None
    assert wait_for_event(r.inst, "srtp_refused", timeout=5.0), r.inst.security_events()
    row = c.cdr()
    assert row["result"] == 488, row["raw"]
    assert_no_key_logged(r.inst, [ka])


@pytest.mark.parametrize("offer", ["avp", "savp-without-crypto"])
def test_required_caller_without_crypto_gets_488_and_event(rig, offer):
    r = rig(policies={"1001": "required"})
    a = r.media(CALLER_IP)
    sdp = (make_sdp(CALLER_IP, a.port) if offer == "avp"
           else make_srtp_sdp(CALLER_IP, a.port, []))
    c = SrtpCall(r, a, sdp)
    final = c.call.wait_final(10.0)
    assert final.status == 488, final.text()
    assert c.callee.take(lambda m: m.is_request and m.method == "INVITE", 1.0) is None, \
        "the callee was rung"
    lines = event_lines(r.inst, "srtp_refused", "1001", "required")
    assert lines, r.inst.security_events()
    row = c.cdr()
    assert row["result"] == 488, row["raw"]
    assert_cdr_srtp(row, False, False)


BAD_CRYPTO = {
    "unknown-suite": lambda: "FOO_128_HMAC_SHA1_80 inline:"
                             + base64.b64encode(secrets.token_bytes(30)).decode(),
    "bad-base64": lambda: "AES_CM_128_HMAC_SHA1_80 inline:" + "*" * 40,
    "wrong-length": lambda: "AES_CM_128_HMAC_SHA1_80 inline:"
                            + base64.b64encode(secrets.token_bytes(20)).decode(),
}


def bad_cases():
    return sorted(BAD_CRYPTO)


@pytest.mark.parametrize("bad", bad_cases())
def test_unusable_crypto_from_required_caller_gets_488_bad_crypto(rig, bad):
    r = rig(policies={"1001": "required"})
    a = r.media(CALLER_IP)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, BAD_CRYPTO[bad]())]))
    final = c.call.wait_final(10.0)
    assert final.status == 488, final.text()
    assert c.callee.take(lambda m: m.is_request and m.method == "INVITE", 1.0) is None, \
        "the callee was rung"
    lines = event_lines(r.inst, "srtp_refused", "1001", "bad_crypto")
    assert lines, r.inst.security_events()
    assert_no_key_logged(r.inst, [])


@pytest.mark.parametrize("bad", bad_cases())
def test_unusable_crypto_from_optional_caller_is_plain_rtp(rig, bad):
    r = rig()
    a = r.media(CALLER_IP)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, BAD_CRYPTO[bad]())]))
    assert_plain(c.callee_offer(), "INVITE to the callee for an unusable offer")
    b = r.media(CALLEE_IP)
    assert_plain(c.answer(b, make_sdp(CALLEE_IP, b.port)), "200 to the caller")
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=5, label="bad")
    assert_received(b, pa, b0, c.b_relay, False, "caller->callee")
    assert_received(a, pb, a0, c.a_relay, False, "callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), False, False)


def test_hold_and_resume_keep_srtp_both_ways(rig):
    r = rig()
    ka = SdesKey.generate(S80)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(1, ka)]))
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    a.receive_with(the_key(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])),
                           1, S80, "200 to the caller"))
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=5, label="pre")
    assert_received(b, pa, b0, c.b_relay, True, "before hold, caller->callee")
    assert_received(a, pb, a0, c.a_relay, True, "before hold, callee->caller")

    given = {}
    # The caller holds with its key, then resumes with a new one (re-keying):
    # the relay must decrypt with whichever key the caller's latest SDP holds.
    ka2 = SdesKey.generate(S80)
    for step, (a_dir, b_dir, a_key) in enumerate([("sendonly", "recvonly", ka),
                                                  ("sendrecv", "sendrecv", ka2)]):
        data = c.call.start_request("INVITE", make_srtp_sdp(CALLER_IP, a.port, [(1, a_key)],
                                                            direction=a_dir))
        reinv = c.callee.expect_request("INVITE", 10.0, call_id=c.inc.call_id)
        sdp = reinv.sdp()
        assert a_dir in sdp["attrs"], sdp["lines"]
        given["b", step] = the_key(sdp, 1, S80, f"re-INVITE {a_dir} to the callee")
        assert given["b", step] not in (ka, ka2)
        c.callee.respond(reinv, 200, to_tag=c.inc.to_tag,
                         body=make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)], direction=b_dir))
        ans = c.call.finish_request(data, timeout=10.0)
        assert ans is not None and ans.status == 200, ans
        given["a", step] = the_key(ans.sdp(), 1, S80, f"200 to the {a_dir} re-INVITE")
        assert given["a", step] not in (ka, ka2, kb, given["b", step])
        c.callee.expect_request("ACK", 10.0, call_id=c.inc.call_id)
        assert relay_of(sdp) == c.b_relay and relay_of(ans.sdp()) == c.a_relay

    # After resume both phones use the keys of the latest exchange.
    a.send_with(ka2)
    b.receive_with(given["b", 1])
    a.receive_with(given["a", 1])
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=10, label="post")
    assert_received(b, pa, b0, c.b_relay, True, "after resume, caller->callee")
    assert_received(a, pb, a0, c.a_relay, True, "after resume, callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, True)
    assert_no_key_logged(r.inst, [ka, ka2, kb, kb_given] + list(given.values()))


def test_hold_and_resume_from_the_callee_keep_srtp_both_ways(rig):
    """The callee re-INVITEs a caller that chose AEAD_AES_128_GCM: the
    caller is offered SRTP (one a=crypto) and answers with a fresh key of
    the offered suite; media then crosses under the new keys."""
    r = rig()
    ka = SdesKey.generate(GCM)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(4, ka)]))
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    a.receive_with(the_key(c.answer(b, make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])),
                           4, GCM, "200 to the caller"))

    a_keys = [ka]
    for b_dir, a_dir in (("sendonly", "recvonly"), ("sendrecv", "sendrecv")):
        data = c.inc.start_request("INVITE", make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)],
                                                           direction=b_dir))
        reinv = c.caller.expect_request("INVITE", 10.0, call_id=c.call.call_id)
        sdp = reinv.sdp()
        assert b_dir in sdp["attrs"], sdp["lines"]
        proto, lines = audio(sdp)
        assert proto == "RTP/SAVP" and len(lines) == 1 and len(all_crypto(sdp)) == 1, \
            f"re-INVITE {b_dir} to the caller: {proto}, {len(all_crypto(sdp))} a=crypto"
        tag, suite, key = srtp.parse_crypto(lines[0])
        offered = SdesKey(suite, key)
        assert offered not in (ka, kb, kb_given)
        mine = SdesKey.generate(suite)
        a_keys.append(mine)
        c.caller.respond(reinv, 200, to_tag=None,
                         body=make_srtp_sdp(CALLER_IP, a.port, [(tag, mine)], direction=a_dir))
        ans = c.inc.finish_request(data, timeout=10.0)
        assert ans is not None and ans.status == 200, ans
        b_given = the_key(ans.sdp(), 1, S80, f"200 to the callee's {b_dir} re-INVITE")
        assert b_given not in a_keys + [kb]
        c.caller.expect_request("ACK", 10.0, call_id=c.call.call_id)
        a.send_with(mine)
        a.receive_with(offered)
        b.receive_with(b_given)

    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=10, label="cres")
    assert_received(b, pa, b0, c.b_relay, True, "after the callee's resume, caller->callee")
    assert_received(a, pb, a0, c.a_relay, True, "after the callee's resume, callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, True)


def test_early_media_183_is_srtp_towards_an_srtp_caller(rig):
    """A 183 with SDP from an SRTP callee reaches the caller as RTP/SAVP
    with the caller's tag and suite, and early media crosses under it."""
    r = rig()
    ka = SdesKey.generate(S32)
    a = r.media(CALLER_IP, ka)
    c = SrtpCall(r, a, make_srtp_sdp(CALLER_IP, a.port, [(2, ka)]))
    kb_given = the_key(c.callee_offer(), 1, S80, "INVITE to the callee")
    kb = SdesKey.generate(S80)
    b = r.media(CALLEE_IP, kb)
    b.receive_with(kb_given)
    body = make_srtp_sdp(CALLEE_IP, b.port, [(1, kb)])
    c.inc.ring(183, body=body)
    p183 = c.call.wait_provisional(183, timeout=10.0)
    early_key = the_key(p183.sdp(), 2, S32, "183 to the caller")
    assert early_key not in (ka, kb, kb_given)
    a.receive_with(early_key)
    a_relay = relay_of(p183.sdp())
    c.b_relay = relay_of(c.b_sdp)

    n0 = len(a.poll())
    sent = [payload("early", i) for i in range(8)]
    for p in sent:
        b.send(c.b_relay, p)
        time.sleep(0.02)
    a.wait(n0 + 8)
    assert_received(a, sent, n0, a_relay, True, "early media callee->caller")

    final_sdp = c.answer(b, body)
    final_key = the_key(final_sdp, 2, S32, "200 to the caller")
    assert final_key not in (ka, kb, kb_given)
    a.receive_with(final_key)
    pa, pb, a0, b0 = exchange(a, c.a_relay, b, c.b_relay, n=8, label="e")
    assert_received(b, pa, b0, c.b_relay, True, "caller->callee")
    assert_received(a, pb, a0, c.a_relay, True, "callee->caller")
    c.hang_up()
    assert_cdr_srtp(c.cdr(), True, True)


# ------------------------------------------------ outside the LAN (netns)

CLONE_NEWNET = 0x40000000


def socket_in_netns(ns, ip):
    """A UDP socket bound to ip inside network namespace ns. setns(2) moves
    only the calling thread, so a short-lived thread makes the socket; the
    socket stays in that namespace for its whole life."""
    libc = ctypes.CDLL(None, use_errno=True)
    out = {}

    def run():
        try:
            fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns")
            finally:
                os.close(fd)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, 0))
            out["sock"] = s
        except Exception as e:  # handed to the test
            out["error"] = e
    t = threading.Thread(target=run)
    t.start()
    t.join(10)
    if "error" in out:
        raise out["error"]
    return out["sock"]


def outside_phone(inst, host, ext, password):
    """A Phone whose UDP socket stands in the namespace, outside the LAN,
    and talks to the daemon on the host end of the veth pair."""
    p = Phone(inst, ext, ip="127.0.0.1", password=password)
    p.conn.close()
    conn = Conn.__new__(Conn)
    conn.transport, conn.host, conn.port = "udp", host.server_ip, inst.port
    conn.sock = socket_in_netns(host.ns, host.client_ip)
    conn.local = conn.sock.getsockname()[:2]
    conn._buf, conn.peer_closed = b"", False
    p.conn = conn
    p.ip, p.port = conn.local
    return p


@pytest.fixture
def outside(request):
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    from test_remote_access import OutsideHost
    host = OutsideHost()
    request.addfinalizer(host.destroy)
    try:
        host.create()
    except Exception as e:  # noqa: BLE001
        host.destroy()
        if os.environ.get("RF_REQUIRE_NETNS", "") not in ("", "0"):
            pytest.fail(f"cannot create a network namespace: {e}")
        pytest.skip(f"cannot create a network namespace: {e}")
    yield host
    host.destroy()
    assert host.leftovers() == [], "namespace or veth left behind"


def invite_from_outside(outside, instance):
    """1006 (--remote, so SRTP required) offers a valid key over UDP from
    the namespace, with its right password, to 1002 registered on the LAN.
    Returns (final answer, callee phone, outside phone, key)."""
    configure(instance, ports=16)
    instance.set_conf("sip", "listen", f"127.0.0.1, {outside.server_ip}")
    pw = instance.add_ext("1006", "--remote")
    instance.start()
    callee = Phone(instance, "1002", ip=CALLEE_IP)
    callee.register()
    phone = outside_phone(instance, outside, "1006", pw)
    ka = SdesKey.generate(S80)
    call = phone.call("1002", make_srtp_sdp(outside.client_ip, 40000, [(1, ka)]))
    final = call.final or call.wait_final(10.0)
    return final, callee, phone, ka


def test_crypto_over_udp_from_outside_the_lan_never_reaches_a_callee(outside, instance):
    """What the daemon does today: a --remote extension outside the LAN may
    only use TLS, so its authenticated INVITE over UDP is refused like a
    wrong password (407 again, acl_denied reason=remote_needs_tls) before
    the SDP is read. The key never reaches anyone."""
    final, callee, phone, ka = invite_from_outside(outside, instance)
    try:
        assert final.status in (407, 488), final.text()
        assert callee.take(lambda m: m.is_request and m.method == "INVITE", 1.0) is None, \
            "the callee was rung with a key that crossed the network in the clear"
        refusals = (wait_for_event(instance, "acl_denied", "reason=remote_needs_tls", 5.0)
                    + instance.security_events("srtp_refused"))
        assert refusals, instance.security_events()
        assert_no_key_logged(instance, [ka])
    finally:
        phone.conn.sock.close()
        callee.conn.close()
