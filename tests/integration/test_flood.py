"""Flood protection in the real daemon (S5): per-source packet budgets
before parsing, flood bans, overload shedding, bounded tables under a
spray of addresses, glitch bans for malformed messages, the per-source
TCP/TLS connection cap, connections from banned sources cut at accept, and
the stream timeouts that cut slowloris connections.

Every flooder, attacker and phone has its own 127.x address, so one
source's ban never touches another. Every load loop is bounded in packets
and in seconds; nothing here measures speed (that is bench/flood.sh)."""
import os
import socket
import ssl
import struct
import subprocess
import time

import pytest

import conftest
from sipcall import Phone, b2bua_available, configure, make_sdp
from sipua import T1, UA, Conn, wait_until
from test_calls_sipp import (CALLEE, CALLER, DATA as SIPP_DATA, SIPP, finish, free_udp_port,
                             register_port, sipp_cmd, sipp_stat, sipp_successes, start_pbx,
                             uac_cmd, users_csv)

FLOODERS = ["127.0.8.1", "127.0.8.2", "127.0.8.3", "127.0.8.4"]
REGISTRAR_IP, CALLER_IP, CALLEE_IP, PROBE_IP = "127.0.7.1", "127.0.7.2", "127.0.7.3", "127.0.7.4"
FLOOD_SECONDS = 12          # each flooder stops after this long ...
FLOOD_MAX_CALLS = 1000000   # ... or this many REGISTER+INVITE pairs, whichever comes first
# The legitimate load meanwhile: enough attempts that 99% means something.
REGISTRATIONS, CALLS = 300, 50

needs_sipp = pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed")
needs_calls = pytest.mark.skipif(not b2bua_available(), reason="the daemon does not route calls yet")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def events(inst, name, **fields):
    return [l for l in inst.security_events(name)
            if all(f" {k}={v}" in l + " " for k, v in fields.items())]


def silent_udp(inst, *srcs, timeout=1.5):
    """Whether a fresh REGISTER from each of srcs, retransmitted as timer E
    would, gets no answer at all within `timeout`."""
    uas = [UA(Conn("udp", "127.0.0.1", inst.port, src=src), "1001", "x") for src in srcs]
    try:
        requests = [u.build() for u in uas]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for u, data in zip(uas, requests):
                u.conn.send(data)
            pause_end = min(deadline, time.monotonic() + T1)
            for u in uas:
                if u.conn.recv_raw(max(0.01, pause_end - time.monotonic())) is not None:
                    return False
        return True
    finally:
        for u in uas:
            u.conn.close()


def flooder_cmd(workdir, inst, src, seconds):
    """SIPp sending REGISTER and INVITE from src as fast as it can, bounded
    by FLOOD_MAX_CALLS and `seconds`. No message trace: it would be huge."""
    name = "flood-" + src
    return [SIPP, "-sf", os.path.join(SIPP_DATA, "flood.xml"), "-i", src,
            "-p", str(free_udp_port(src)), "-key", "domain", "127.0.0.1", "-key", "callee", "1002",
            "-r", "200000", "-rp", "1000", "-m", str(FLOOD_MAX_CALLS), "-timeout", f"{seconds}s",
            "-nostdin", "-trace_stat", "-stf", os.path.join(workdir, f"{name}.stat.csv"),
            f"127.0.0.1:{inst.port}"]


def start_flooders(inst, workdir, seconds=FLOOD_SECONDS, preexec=None):
    procs = []
    for src in FLOODERS:
        with open(os.path.join(workdir, f"flood-{src}.out"), "wb") as out:
            procs.append(subprocess.Popen(flooder_cmd(workdir, inst, src, seconds), cwd=workdir,
                                          stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, preexec_fn=preexec))
    return procs


def packets_flooded(procs, workdir, seconds):
    """Wait for the flooders; the packets each sent, from SIPp's statistics."""
    sent = []
    for src, p in zip(FLOODERS, procs):
        try:
            rc = p.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise AssertionError(f"flooder {src} ignored its -timeout")
        assert rc == 0, (src, rc, open(os.path.join(workdir, f"flood-{src}.out"), "rb").read()[-2000:])
        sent.append(2 * sipp_stat(workdir, "flood-" + src, "OutgoingCall(C)")[0])
    return sent


def stop_all(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()


def nice_flooder():
    # An attacker's CPU is not ours: the flooders run at a lower priority,
    # so on a small shared machine (CI has two cores) four SIPp processes
    # sending as fast as they can do not starve the daemon and the phones
    # of the very CPU the daemon is being measured against.
    os.nice(10)


def start_legit_load(inst, workdir, registrations, calls):
    """SIPp registering ten extensions from REGISTRAR_IP, and SIPp calling
    from CALLER_IP to a SIPp callee on CALLEE_IP through the B2BUA, both
    spread over all but the last two seconds of the flood. Returns the
    processes by name: "uas" (callee), "reg" and "uac" (caller)."""
    exts = [str(3101 + i) for i in range(10)]
    spread = FLOOD_SECONDS - 2
    reg_csv = users_csv(workdir, inst, [(e, "") for e in exts], name="registrations.csv")
    reg_port = free_udp_port(REGISTRAR_IP)
    reg = sipp_cmd(workdir, "reg", "register-auth.xml", reg_port, registrations,
                   ["-inf", reg_csv, "-auth_uri", "127.0.0.1", "-key", "domain", "127.0.0.1",
                    "-key", "contact_hp", f"{REGISTRAR_IP}:{reg_port}", "-key", "expires", "300",
                    "-r", str(max(1, registrations // spread)), f"127.0.0.1:{inst.port}"],
                   ip=REGISTRAR_IP)
    uas_port = free_udp_port(CALLEE_IP)
    register_port(inst, CALLEE, uas_port, ip=CALLEE_IP)
    uas = sipp_cmd(workdir, "uas", "uas-answer.xml", uas_port, calls,
                   ["-mi", CALLEE_IP, "-mp", str(free_udp_port(CALLEE_IP))], ip=CALLEE_IP)
    # A phone calls from where it registers: the caller's address holds a
    # registration, as every address of a real office does.
    register_port(inst, CALLER, free_udp_port(CALLER_IP), ip=CALLER_IP)
    calls_csv = users_csv(workdir, inst, [(CALLER, CALLEE)])
    uac = uac_cmd(workdir, inst, calls_csv, calls, 40000, 0,
                  ["-r", str(max(1, calls // spread))], ip=CALLER_IP)
    procs = {}
    for name, cmd in (("uas", uas), ("reg", reg), ("uac", uac)):
        procs[name] = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if name == "uas":
            time.sleep(0.5)  # SIPp binds its sockets before the first INVITE
    return procs


def probe_register(ua):
    """One re-registration of a phone: True when it got its 200."""
    try:
        _, final = ua.register(alg="MD5", timeout=5.0)
    except AssertionError:
        return False
    return final.status == 200


@needs_sipp
@needs_calls
def test_sipp_floods_from_four_addresses_are_banned_while_sipp_phones_register_and_call(
        instance, workdir):
    """SIPp floods REGISTER and INVITE from four addresses at whatever rate
    it can push; meanwhile SIPp registers ten extensions and places calls
    through the B2BUA from other addresses. SIPp's own statistics count the
    successes, a registered phone's requests are answered throughout, each
    flooder ends up banned and silent, and memory stays bounded."""
    start_pbx(instance, ports=64, extra=[str(3101 + i) for i in range(10)])
    inst = instance
    probe = UA(Conn("udp", "127.0.0.1", inst.port, src=PROBE_IP), "1001", inst.passwords["1001"])
    legit, flooders = {}, []
    try:
        assert probe_register(probe)
        rss_before = rss_kb(inst.proc.pid)
        legit = start_legit_load(inst, workdir, REGISTRATIONS, CALLS)
        flooders = start_flooders(inst, workdir, preexec=nice_flooder)
        probes = answered = 0
        end = time.monotonic() + FLOOD_SECONDS
        while time.monotonic() < end and probes < 100:
            probes += 1
            answered += probe_register(probe)
            time.sleep(0.3)
        sent = packets_flooded(flooders, workdir, FLOOD_SECONDS)
        _, reg_log = finish(legit["reg"], workdir, "reg", 60)
        _, uac_log = finish(legit["uac"], workdir, "uac", 60)
        rss_after = rss_kb(inst.proc.pid)
    finally:
        stop_all(flooders + list(legit.values()))
        probe.conn.close()

    assert min(sent) > 20000, f"the flooders hardly sent anything: {sent}"
    for name, attempts, log in (("reg", REGISTRATIONS, reg_log), ("uac", CALLS, uac_log)):
        ok, failed = sipp_successes(workdir, name)
        assert ok + failed == attempts, (name, ok, failed, log)
        assert ok >= 0.99 * attempts, \
            f"{name}: {ok} of {attempts} succeeded during the flood ({sent} packets):\n{log}"
    assert probes >= 10 and answered == probes, \
        f"a registered phone got {answered} of {probes} re-registrations answered"
    for src in FLOODERS:
        assert wait_until(lambda: events(inst, "ban_added", addr=src, reason="flood"), 5), \
            (src, inst.security_events("ban_added"))
        assert any(f"src={src}:" in l for l in inst.security_events("flood_detected")), src
    assert silent_udp(inst, *FLOODERS), "a banned flooder must get silence"
    for ip in (REGISTRAR_IP, CALLER_IP, CALLEE_IP, PROBE_IP):
        assert not events(inst, "ban_added", addr=ip), ip
    # Four flooders cost four table entries, not memory per packet.
    assert rss_after - rss_before < 16 * 1024, (rss_before, rss_after)
    assert inst.proc.poll() is None


# Pinned to the flooders' CPU the daemon has a fifth of it against four
# of them; at this nice about a thirteenth, far too little to keep up on
# any machine (they all share the same CPU, so its speed cancels out), yet
# enough to answer a phone well within the phone's patience. At 19 the
# daemon gets so few turns that a phone's INVITE waits longer than 5 s.
STARVED_NICE = 5


def starve(pid, cpu):
    """Make the daemon a process that cannot keep up, as on a box whose
    CPU other work has taken: every thread of it (Linux nice is per
    thread) pinned to `cpu`, where the flooders run too, at a lower
    priority than theirs."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {cpu})
            os.setpriority(os.PRIO_PROCESS, int(tid), STARVED_NICE)
        except ProcessLookupError:
            pass  # a thread that has just ended


def overload_lines(inst, state):
    return [l for l in inst.security_events("overload") if f" state={state}" in l + " "]


@needs_sipp
@needs_calls
def test_overload_sheds_strangers_and_refuses_new_calls_then_ends(instance, workdir):
    """Overload is the signalling thread falling behind its input. A fast
    machine keeps up with four flooders, so the test makes the daemon slow:
    it shares one CPU with them at a lower priority. Budgets so large that
    every flood packet is parsed and challenged make that real work. The
    phones probing it run on another CPU when there is one; on a single
    CPU they still get their turns, since they mostly sleep."""
    configure(instance, ports=64, guard={"flood_rate": 1000000, "flood_burst": 1000000})
    inst = instance.start()
    caller = Phone(inst, "1001", ip=CALLER_IP)
    caller.register()
    phone = UA(Conn("udp", "127.0.0.1", inst.port, src=PROBE_IP), "1002", inst.passwords["1002"])
    assert probe_register(phone)
    cpus = os.sched_getaffinity(0)
    busy = max(cpus)
    seen_503 = reregistered = answered_strangers = probes = 0
    flooders = []
    try:
        os.sched_setaffinity(0, (cpus - {busy}) or cpus)
        starve(inst.proc.pid, busy)
        flooders = start_flooders(inst, workdir, seconds=8,
                                  preexec=lambda: os.sched_setaffinity(0, {busy}))
        end = time.monotonic() + 8
        while time.monotonic() < end and probes < 20:
            if overload_lines(inst, "on") and not overload_lines(inst, "off"):
                probes += 1
                call = caller.call("1002", make_sdp(caller.ip, 40000))
                final = call.wait_final(timeout=5.0)
                if final is not None and final.status == 503:
                    seen_503 += 1
                    assert final.get("retry-after") == "5", final.text()
                reregistered += probe_register(phone)
                if not silent_udp(inst, f"127.0.8.{100 + probes}"):
                    answered_strangers += 1
            time.sleep(0.2)
        sent = packets_flooded(flooders, workdir, 8)
    finally:
        stop_all(flooders)
        os.sched_setaffinity(0, cpus)
        caller.conn.close()
        phone.conn.close()
    assert overload_lines(inst, "on"), (sent, inst.security_events())
    # While it lasts, new calls are refused and strangers get silence (a
    # probe may straddle its end), and a registered phone goes on.
    assert probes >= 1 and seen_503 >= max(1, probes - 1), \
        (probes, seen_503, inst.security_events("overload"))
    assert answered_strangers <= probes // 2, (answered_strangers, probes)
    assert reregistered == probes, (reregistered, probes)
    # It ends once the flood is over, and says so.
    assert wait_until(lambda: overload_lines(inst, "off"), 15), inst.security_events("overload")
    on = overload_lines(inst, "on")[0]
    assert " shed=" in on and " dropped=" in on, on
    assert not silent_udp(inst, "127.0.8.99"), "strangers are answered again"


# ---- a spray of source addresses ----

SPRAY_SOURCES = 100000  # addresses per spray, one request each
SPRAY_BATCH = 500       # sent back to back, then answered, before the next
SPRAY_SECONDS = 40      # each spray stops after this long whatever it reached
SPRAY_TABLE = 4096      # [guard] max_tracked for the test


def spoofed_udp(src, sport, dst, dport, payload):
    """An IPv4 datagram from any address: the kernel fills in the IP
    checksum and length; a UDP checksum of 0 means none (RFC 768)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


def spray_request(src, port, i):
    """A REGISTER or an INVITE without credentials: parsed, challenged and
    counted by the guard, like a scanner's first request."""
    method, ruri = (("REGISTER", "sip:127.0.0.1"), ("INVITE", "sip:1002@127.0.0.1"))[i & 1]
    return (f"{method} {ruri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {src}:{port};branch=z9hG4bKspray{i}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:{1000 + i % 100}@127.0.0.1>;tag=s{i}\r\n"
            f"To: <sip:{1000 + i % 100}@127.0.0.1>\r\n"
            f"Call-ID: spray-{src}\r\n"
            f"CSeq: 1 {method}\r\n"
            "Content-Length: 0\r\n\r\n").encode()


class Sprayer:
    """One request each from many spoofed 127.x.y.z addresses, through a
    raw socket (root), so no socket is bound per address. Every spoofed
    source uses one port, and one socket bound to that port on all local
    addresses (all of 127/8 is local) receives the daemon's answers to all
    of them: each answer proves the daemon parsed and challenged one more
    source, and waiting for a batch's answers paces the spray to what the
    daemon handles, so nothing is lost in a full socket buffer."""

    def __init__(self, inst):
        self.dport = inst.port
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.answers = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.answers.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.answers.bind(("0.0.0.0", 0))
        self.sport = self.answers.getsockname()[1]

    def spray(self, first, count):
        """Send from `count` addresses starting at `first`; the number of
        them that were answered."""
        base = struct.unpack("!I", socket.inet_aton(first))[0]
        sent = answered = 0
        end = time.monotonic() + SPRAY_SECONDS
        while sent < count and time.monotonic() < end:
            for i in range(sent, min(count, sent + SPRAY_BATCH)):
                src = socket.inet_ntoa(struct.pack("!I", base + i))
                packet = spoofed_udp(src, self.sport, "127.0.0.1", self.dport,
                                     spray_request(src, self.sport, i))
                self.raw.sendto(packet, ("127.0.0.1", 0))
                sent += 1
            answered += self.collect(sent - answered, min(end, time.monotonic() + 2.0))
        return answered

    def collect(self, expected, deadline):
        got = 0
        while got < expected:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.answers.settimeout(left)
            try:
                self.answers.recv(70000)
            except socket.timeout:
                break
            got += 1
        return got

    def close(self):
        self.raw.close()
        self.answers.close()


def sanitized_env():
    """Under `make asan` a freed entry waits in ASan's quarantine instead
    of being reused, which is not how the daemon runs; without it the
    memory behaves as in a normal build."""
    with open(conftest.BIN, "rb") as f:
        if b"__asan_init" not in f.read():
            return None
    opts = os.environ.get("ASAN_OPTIONS", "")
    return {"ASAN_OPTIONS": (opts + ":" if opts else "") + "quarantine_size_mb=0"}


@pytest.mark.skipif(os.geteuid() != 0, reason="a raw socket needs root")
def test_a_spray_of_many_source_addresses_leaves_memory_bounded(instance):
    """100,000 addresses, one request each, fill the guard's tables to
    [guard] max_tracked; 100,000 more, never seen before, then cost no
    memory: their entries replace the stalest ones. A registered phone is
    answered afterwards.

    Checked to fail: with max_tracked = 16777216 (no effective bound) the
    second spray grows the daemon by about 50 MB, and the first by as much."""
    instance.set_conf("guard", "max_tracked", str(SPRAY_TABLE))
    inst = instance.start(extra_env=sanitized_env())
    phone = UA(Conn("udp", "127.0.0.1", inst.port, src="127.0.8.150"), "1001",
               inst.passwords["1001"])
    sprayer = Sprayer(inst)
    try:
        _, ok = phone.register()
        assert ok.status == 200
        rss_start = rss_kb(inst.proc.pid)
        first = sprayer.spray("127.200.0.0", SPRAY_SOURCES)
        rss_full = rss_kb(inst.proc.pid)
        second = sprayer.spray("127.204.0.0", SPRAY_SOURCES)
        rss_after = rss_kb(inst.proc.pid)
        _, ok = phone.register(timeout=5.0)
    finally:
        sprayer.close()
        phone.conn.close()
    # Each spray really reached the daemon, address by address.
    assert first >= 0.99 * SPRAY_SOURCES and second >= 0.99 * SPRAY_SOURCES, (first, second)
    # Tables of 4,096 entries cost a few megabytes at most ...
    assert rss_full - rss_start < 16 * 1024, (rss_start, rss_full)
    # ... and 100,000 new addresses cost nothing more.
    assert rss_after - rss_full < 4 * 1024, (rss_start, rss_full, rss_after)
    assert ok.status == 200, ok
    assert not inst.security_events("ban_added"), "one request each bans nobody"
    assert inst.proc.poll() is None


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
