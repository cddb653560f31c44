"""Flood protection in the real daemon (S5): per-source packet budgets
before parsing, flood bans, glitch bans for malformed messages, the
per-source TCP/TLS connection cap, connections from banned sources cut at
accept, and the stream timeouts that cut slowloris connections.

Every flooder, attacker and phone has its own 127.x address, so one
source's ban never touches another. Every load loop is bounded in packets
and in seconds; nothing here measures speed (that is bench/flood.sh)."""
import os
import socket
import ssl
import subprocess
import sys
import time

import pytest

from sipcall import Phone, b2bua_available, configure, make_sdp
from sipua import UA, Conn, wait_until

FLOODERS = ["127.0.8.1", "127.0.8.2", "127.0.8.3", "127.0.8.4"]
CALLER_IP, CALLEE_IP = "127.0.7.1", "127.0.7.2"
FLOOD_SECONDS = 12       # each flooder stops after this long ...
FLOOD_MAX_PACKETS = 600000  # ... or this many packets, whichever comes first

# One flooder: REGISTER and INVITE without credentials, as fast as one
# process can send them, from one address, bounded in count and time.
FLOOD_SCRIPT = r"""
import socket, sys, time
src, port, seconds, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
lport = s.getsockname()[1]
msgs = []
for i, (method, ruri) in enumerate((("REGISTER", "sip:127.0.0.1"), ("INVITE", "sip:1002@127.0.0.1"))):
    msgs.append((
        f"{method} {ruri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {src}:{lport};branch=z9hG4bKflood{i}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:1001@127.0.0.1>;tag=fl{i}\r\n"
        "To: <sip:1001@127.0.0.1>\r\n"
        f"Call-ID: flood-{src}-{i}\r\n"
        f"CSeq: 1 {method}\r\n"
        f"Contact: <sip:1001@{src}:{lport}>\r\n"
        "Content-Length: 0\r\n\r\n").encode())
s.setblocking(False)
sent, end = 0, time.monotonic() + seconds
while sent < limit:
    if sent % 512 == 0 and time.monotonic() >= end:
        break
    try:
        s.sendto(msgs[sent & 1], ("127.0.0.1", port))
    except (BlockingIOError, ConnectionRefusedError):
        pass
    sent += 1
print(sent)
"""


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def events(inst, name, **fields):
    return [l for l in inst.security_events(name)
            if all(f" {k}={v}" in l + " " for k, v in fields.items())]


def silent_udp(inst, src, user="1001"):
    """Whether a fresh REGISTER from src gets no answer at all."""
    u = UA(Conn("udp", "127.0.0.1", inst.port, src=src), user, "x")
    try:
        return u.request(timeout=1.5) is None
    finally:
        u.conn.close()


def start_flooders(inst, seconds=FLOOD_SECONDS):
    # An attacker's CPU is not ours: the flooders run at a lower priority,
    # so on a small shared machine they do not starve the daemon and the
    # phones of the very CPU the daemon is being measured against.
    return [subprocess.Popen([sys.executable, "-c", FLOOD_SCRIPT, src, str(inst.port),
                              str(seconds), str(FLOOD_MAX_PACKETS)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: os.nice(10))
            for src in FLOODERS]


def register_patiently(phone, timeout=10.0):
    """A phone's REGISTER and its answer to the challenge, retransmitted
    on timer E for up to `timeout` each (a phone gives up after 32 s)."""
    ua = UA(phone.conn, phone.ext, phone.password, user_agent=phone.user_agent,
            contact=f"<sip:{phone.ext}@{phone.ip}:{phone.port}>")
    first = ua.request(timeout=timeout)
    if first is None or first.status != 401:
        return f"no challenge: {first}"
    final = ua.request(timeout=timeout, auth=ua.auth_for(first, "SHA-256"))
    return None if final is not None and final.status == 200 else f"final: {final}"


def one_call(caller, callee):
    """INVITE through the B2BUA, ring, answer, BYE: True when every step
    got its answer."""
    call = caller.call("1002", make_sdp(caller.ip, 40000))
    inc = callee.incoming(timeout=10.0)
    inc.ring(180)
    inc.answer(make_sdp(callee.ip, 40002))
    final = call.wait_final(timeout=10.0)
    if final is None or final.status != 200:
        return False
    data = call.start_request("BYE")
    # The caller retransmits its BYE while the callee waits for it, as
    # timer E would: under a flood a datagram may be lost in a full queue.
    end = time.monotonic() + 10.0
    while True:
        try:
            inc.answer_request("BYE", timeout=1.0)
            break
        except AssertionError:
            if time.monotonic() >= end:
                raise
            caller.send(data)
    ans = call.finish_request(data, timeout=10.0)
    return ans is not None and ans.status == 200


@pytest.mark.skipif(not b2bua_available(), reason="the daemon does not route calls yet")
def test_udp_flood_from_four_addresses_is_banned_while_a_phone_registers_and_calls(instance):
    configure(instance, ports=64)
    inst = instance.start()
    caller = Phone(inst, "1001", ip=CALLER_IP)
    callee = Phone(inst, "1002", ip=CALLEE_IP)
    try:
        caller.register()
        callee.register()
        rss_before = rss_kb(inst.proc.pid)
        flooders = start_flooders(inst)
        ok = attempts = 0
        failures = []
        deadline = time.monotonic() + FLOOD_SECONDS + 3
        try:
            # Phone traffic for as long as the flood lasts (and a little
            # after): a re-registration and a whole call per round.
            while time.monotonic() < deadline and attempts < 200:
                attempts += 2
                t0 = time.monotonic()
                why = register_patiently(caller)
                if why is None:
                    ok += 1
                else:
                    failures.append(("register", time.monotonic() - t0, why))
                t0 = time.monotonic()
                try:
                    if one_call(caller, callee):
                        ok += 1
                    else:
                        failures.append(("call", time.monotonic() - t0, "no 200"))
                except (AssertionError, AttributeError) as e:
                    failures.append(("call", time.monotonic() - t0, str(e)[:300]))
        finally:
            sent = []
            for p in flooders:
                out, err = p.communicate(timeout=FLOOD_SECONDS + 30)
                assert p.returncode == 0, err
                sent.append(int(out.strip()))
        rss_after = rss_kb(inst.proc.pid)
    finally:
        caller.conn.close()
        callee.conn.close()

    assert min(sent) > 5000, f"the flooders hardly sent anything: {sent}"
    assert attempts >= 10, attempts
    assert ok >= 0.99 * attempts, \
        f"{ok} of {attempts} registrations and calls succeeded during the flood: {failures}"
    for src in FLOODERS:
        assert wait_until(lambda: events(inst, "ban_added", addr=src, reason="flood"), 5), \
            (src, inst.security_events("ban_added"))
        assert events(inst, "flood_detected", src=f"{src}:") or \
            any(f"src={src}:" in l for l in inst.security_events("flood_detected")), src
        assert silent_udp(inst, src), f"{src} is banned and must get silence"
    # The phone's own address was never touched.
    assert not events(inst, "ban_added", addr=CALLER_IP)
    assert not events(inst, "ban_added", addr=CALLEE_IP)
    # Four flooders cost four table entries, not memory per packet.
    assert rss_after - rss_before < 16 * 1024, (rss_before, rss_after)
    assert inst.proc.poll() is None


@pytest.mark.skipif(not b2bua_available(), reason="the daemon does not route calls yet")
def test_overload_sheds_strangers_and_refuses_new_calls_then_ends(instance):
    # Budgets so large that every flood packet is parsed and challenged:
    # real work, more than one signalling thread can do on this machine.
    configure(instance, ports=64, guard={"flood_rate": 1000000, "flood_burst": 1000000})
    inst = instance.start()
    caller = Phone(inst, "1001", ip=CALLER_IP)
    caller.register()
    seen_503 = answered_strangers = probes = 0
    flooders = start_flooders(inst, seconds=8)
    try:
        end = time.monotonic() + 9
        while time.monotonic() < end:
            on, off = inst.security_events("overload"), []
            on = [l for l in on if " state=on" in l]
            off = [l for l in inst.security_events("overload") if " state=off" in l]
            if on and not off:
                probes += 1
                call = caller.call("1002", make_sdp(caller.ip, 40000))
                final = call.wait_final(timeout=5.0)
                if final is not None and final.status == 503:
                    seen_503 += 1
                    assert final.get("retry-after") == "5", final.text()
                if not silent_udp(inst, f"127.0.8.{100 + probes}"):
                    answered_strangers += 1
            time.sleep(0.3)
    finally:
        for p in flooders:
            p.communicate(timeout=60)
        caller.conn.close()
    if not inst.security_events("overload"):
        pytest.skip("the daemon kept up with four flooders here: no overload to observe")
    assert seen_503 >= 1, (probes, inst.security_events("overload"))
    # A probe can straddle the end of the overload; most are shed.
    assert answered_strangers <= probes // 2, (answered_strangers, probes)
    # It ends once the flood is over, and says so.
    assert wait_until(lambda: any(" state=off" in l for l in inst.security_events("overload")), 15)
    on = [l for l in inst.security_events("overload") if " state=on" in l][0]
    assert " shed=" in on and " dropped=" in on, on
    assert not silent_udp(inst, "127.0.8.99"), "strangers are answered again"


def test_a_stranger_over_budget_is_dropped_before_parsing_then_banned(instance):
    # A tiny budget makes the arithmetic visible without a flood: 5
    # packets pass, the rest of the burst gets no answer.
    instance.set_conf("guard", "flood_rate", "1")
    instance.set_conf("guard", "flood_burst", "5")
    instance.set_conf("guard", "flood_time", "2")
    inst = instance.start()
    src = "127.0.8.9"
    conn = Conn("udp", "127.0.0.1", inst.port, src=src)
    try:
        u = UA(conn, "1001", "x")
        for _ in range(8):
            conn.send(u.build())
        answers = 0
        while conn.recv(timeout=1.0) is not None:
            answers += 1
        assert answers == 5, answers
        assert not events(inst, "ban_added", addr=src)
        # Over budget for longer than flood_time: banned.
        end = time.monotonic() + 6
        while time.monotonic() < end and not events(inst, "ban_added", addr=src):
            conn.send(u.build())
            time.sleep(0.05)
        assert events(inst, "ban_added", addr=src, reason="flood"), inst.security_events()
    finally:
        conn.close()
    line = [l for l in inst.security_events("flood_detected") if f"src={src}:" in l]
    assert line and " budget=unknown " in line[0] + " " and " action=banned" in line[0], line
    assert silent_udp(inst, src)
    # Another address is untouched and the phone registers.
    _, ok = UA(Conn("udp", "127.0.0.1", inst.port, src="127.0.8.10"), "1001",
               inst.passwords["1001"]).register()
    assert ok.status == 200


def test_a_whitelisted_address_has_no_budget(instance):
    instance.set_conf("guard", "flood_rate", "1")
    instance.set_conf("guard", "flood_burst", "5")
    instance.set_conf("guard", "whitelist", "127.0.8.80/32")
    inst = instance.start()
    for src, expected in (("127.0.8.80", 12), ("127.0.8.81", 5)):
        conn = Conn("udp", "127.0.0.1", inst.port, src=src)
        try:
            u = UA(conn, "1001", "x")
            for _ in range(12):
                conn.send(u.build())
            answers = 0
            while conn.recv(timeout=1.0) is not None:
                answers += 1
            assert answers == expected, (src, answers)
        finally:
            conn.close()


def test_a_registered_address_gets_the_larger_budget(instance):
    instance.set_conf("guard", "flood_rate", "1")
    instance.set_conf("guard", "flood_burst", "5")
    inst = instance.start()
    src = "127.0.8.11"
    ua = UA(Conn("udp", "127.0.0.1", inst.port, src=src), "1001", inst.passwords["1001"])
    try:
        _, ok = ua.register()
        assert ok.status == 200
        # Now registered: 30 more REGISTERs back to back are all answered.
        for _ in range(15):
            _, r = ua.register()
            assert r is not None and r.status == 200
    finally:
        ua.conn.close()
    assert not events(inst, "ban_added", addr=src)


def test_garbage_from_one_source_bans_it_for_glitches(pbx):
    src = "127.0.8.20"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        # 49 unparseable messages: below the default glitch_max of 50.
        for i in range(49):
            s.sendto(b"GARBAGE %d \x01\x02 not sip\r\n\r\n" % i, ("127.0.0.1", pbx.port))
        time.sleep(0.5)
        assert not events(pbx, "ban_added", addr=src)
        s.sendto(b"\xff\xfe still not sip\r\n\r\n", ("127.0.0.1", pbx.port))
    assert wait_until(lambda: events(pbx, "ban_added", addr=src, reason="glitches"), 3), \
        pbx.security_events()
    assert silent_udp(pbx, src)
    # A well-formed request from a neighbour is still answered.
    assert not silent_udp(pbx, "127.0.8.21")


def tcp_open(inst, src, port=None):
    """A TCP connection from src, or None when it was reset so fast that
    connect() saw it (a refused connection can be cut before that)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", port or inst.port))
    except ConnectionResetError:
        s.close()
        return None
    return s


def close_all(socks):
    for s in socks:
        if s is not None:
            s.close()


def is_cut(s, timeout=3.0):
    """Whether the daemon closed (or reset) this connection."""
    if s is None:
        return True
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def pings(s):
    """A CRLF keep-alive ping is answered with CRLF: the connection lives."""
    try:
        s.sendall(b"\r\n\r\n")
        s.settimeout(3)
        return s.recv(10) == b"\r\n"
    except OSError:
        return False


def test_more_than_ten_tcp_connections_from_one_address_are_cut(pbx):
    src = "127.0.8.30"
    kept = [tcp_open(pbx, src) for _ in range(10)]
    extra = []
    try:
        for s in kept:
            assert pings(s)
        for _ in range(5):
            extra.append(tcp_open(pbx, src))
        for s in extra:
            assert is_cut(s), "the 11th and later connections must be closed at once"
        assert all(pings(s) for s in kept), "the first ten stay open"
        # A TLS registration from another address still works.
        ua = UA(Conn("tls", "127.0.0.1", pbx.tls_port, src="127.0.8.31"), "1001",
                pbx.passwords["1001"])
        try:
            _, ok = ua.register()
            assert ok.status == 200, ok
        finally:
            ua.conn.close()
        # Closing one frees its place.
        kept.pop().close()
        time.sleep(0.3)
        again = tcp_open(pbx, src)
        kept.append(again)
        assert pings(again)
    finally:
        close_all(kept + extra)
    assert "per-source connection limit" in pbx.daemon_output()


def test_connections_per_source_is_configurable(instance):
    instance.set_conf("guard", "connections_per_source", "2")
    inst = instance.start()
    src = "127.0.8.32"
    socks = [tcp_open(inst, src) for _ in range(3)]
    try:
        assert pings(socks[0]) and pings(socks[1])
        assert is_cut(socks[2])
        # TLS connections count towards the same limit.
        t = tcp_open(inst, src, inst.tls_port)
        socks.append(t)
        assert is_cut(t)
    finally:
        close_all(socks)


def test_a_banned_source_is_cut_at_accept(pbx):
    src = "127.0.8.40"
    pbx.cli("ban", "add", src)
    time.sleep(0.6)  # the daemon polls the store every 200 ms
    for port in (pbx.port, pbx.tls_port):
        s = tcp_open(pbx, src, port)
        try:
            assert is_cut(s), port
        finally:
            close_all([s])
    # Its neighbour connects and is served.
    s = tcp_open(pbx, "127.0.8.41")
    try:
        assert pings(s)
    finally:
        s.close()


def test_slowloris_connections_are_cut_and_tls_registration_still_works(pbx):
    # Half-open TLS: connect and never start the handshake. Slow writer:
    # part of a message, then a byte now and then. Both are cut by the
    # stream deadlines (5 s handshake, 10 s per message), not by luck.
    half_open = [tcp_open(pbx, f"127.0.8.{50 + i}", pbx.tls_port) for i in range(5)]
    slow = [tcp_open(pbx, f"127.0.8.{60 + i}") for i in range(3)]
    start = time.monotonic()
    try:
        for s in slow:
            s.sendall(b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bK1\r\n")
        # Legitimate TLS registration meanwhile.
        ua = UA(Conn("tls", "127.0.0.1", pbx.tls_port, src="127.0.8.70"), "1002",
                pbx.passwords["1002"])
        try:
            _, ok = ua.register()
            assert ok.status == 200, ok
        finally:
            ua.conn.close()
        for s in half_open:
            assert is_cut(s, timeout=max(0.1, start + 8 - time.monotonic())), \
                "a TLS connection without a handshake must be cut after 5 s"
        assert time.monotonic() - start >= 4.5, "cut too early: that is not the deadline"
        cut = [False] * len(slow)
        end = start + 16
        while time.monotonic() < end and not all(cut):
            for i, s in enumerate(slow):
                if cut[i]:
                    continue
                try:
                    s.sendall(b"X")  # a byte a second never completes a message
                except OSError:
                    cut[i] = True
                    continue
                cut[i] = is_cut(s, timeout=0.2)
            time.sleep(0.8)
        assert all(cut), "slow writers must be cut by the message deadline"
    finally:
        close_all(half_open + slow)
    assert pbx.proc.poll() is None
