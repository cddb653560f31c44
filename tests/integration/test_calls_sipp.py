"""SIPp callers and callees through the B2BUA, carrying RTP.

SIPp 3.6 answers only MD5 challenges, so these instances offer MD5 alone
([registrar] digest_algorithms = md5). A SIPp callee is reached because its
extension was registered from SIPp's own address and port (by a Python UA
on that socket) just before SIPp takes the port over."""
import os
import re
import secrets
import shutil
import socket
import string
import subprocess
import time

import pytest

from rtp import send_both_ways
from sipcall import Phone, b2bua_available, cdr_list, configure, make_sdp, wait_cdr
from test_calls import Rig, establish, hang_up_from_caller

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "sipp")
SIPP = shutil.which("sipp")

pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed"),
    pytest.mark.skipif(not b2bua_available(),
                       reason="the daemon does not route calls yet (INVITE answered 501)"),
]

CALLER, CALLEE = "3001", "3002"


def password(ext):
    """Letters and digits plus a fixed tail: nothing SIPp's CSV or its
    [authentication] keyword would misread."""
    alphabet = string.ascii_letters + string.digits
    while True:
        pw = "Rf" + "".join(secrets.choice(alphabet) for _ in range(14)) + "!7aZ"
        if ext not in pw:
            return pw


def free_udp_port(ip="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def start_pbx(instance, ports=64, extra=(), **sections):
    sections.setdefault("registrar", {})["digest_algorithms"] = "md5"
    configure(instance, ports=ports, **sections)
    for ext in (CALLER, CALLEE) + tuple(extra):
        add_ext(instance, ext)
    instance.start()
    return Rig(instance)


def add_ext(instance, ext, tries=5):
    """Add ext with a random password. The password policy's dictionary
    check refuses about one random password in 400 as "systematic"; that
    is the policy working, so another one is drawn."""
    for _ in range(tries):
        pw = password(ext)
        added = instance.cli("ext", "add", ext, "--password", pw, check=False)
        if added.returncode == 0:
            instance.passwords[ext] = pw
            return
    raise AssertionError(f"ext add {ext} refused {tries} passwords:\n{added.stderr}")


def register_port(inst, ext, port, ip="127.0.0.1"):
    """Register ext from ip:port, then free the port for SIPp."""
    p = Phone(inst, ext, ip=ip, port=port)
    try:
        p.register(alg="MD5")
    finally:
        p.conn.close()


def users_csv(workdir, inst, rows, name="calls.csv"):
    """An injection file: caller, its [authentication], callee per row."""
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for caller, callee in rows:
            f.write(f"{caller};[authentication username={caller} password={inst.passwords[caller]}];{callee}\n")
    os.chmod(path, 0o600)
    return path


def sipp_cmd(workdir, name, scenario, port, calls, extra=(), ip="127.0.0.1"):
    return [SIPP, "-sf", os.path.join(DATA, scenario), "-m", str(calls),
            "-i", ip, "-p", str(port), "-timeout", "60s", "-timeout_error",
            "-nostdin", "-trace_err", "-error_file", os.path.join(workdir, f"{name}.err"),
            "-trace_msg", "-message_file", os.path.join(workdir, f"{name}.msg"),
            "-trace_stat", "-stf", os.path.join(workdir, f"{name}.stat.csv")] + list(extra)


def uac_cmd(workdir, inst, csv_path, calls, rtp_port, hold_ms, extra=(), ip="127.0.0.1"):
    """SIPp signs the digest uri sip:<auth_uri>; the daemon wants it equal
    to the Request-URI, so every row of the CSV calls CALLEE."""
    return sipp_cmd(workdir, "uac", "uac-call-auth.xml", free_udp_port(ip), calls,
                    ["-inf", csv_path, "-auth_uri", f"{CALLEE}@127.0.0.1",
                     "-key", "domain", "127.0.0.1",
                     "-key", "rtp_port", str(rtp_port), "-d", str(hold_ms),
                     "-recv_timeout", "10000"] + list(extra) + [f"127.0.0.1:{inst.port}"],
                    ip=ip)


def finish(proc, workdir, name, timeout):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"sipp {name} did not finish within {timeout} s:\n{tail(workdir, name)}")
    return proc.returncode, tail(workdir, name)


def tail(workdir, name):
    out = ""
    for suffix in ("err", "msg"):
        path = os.path.join(workdir, f"{name}.{suffix}")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                out += f"--- {name}.{suffix}\n" + f.read()[-3000:]
    return out


def sipp_stat(workdir, name, *columns):
    """Cumulative counters from the last row of SIPp's -trace_stat file."""
    import csv
    with open(os.path.join(workdir, f"{name}.stat.csv"), newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    col = {n: i for i, n in enumerate(rows[0])}
    return tuple(int(rows[-1][col[c]]) for c in columns)


def sipp_successes(workdir, name):
    return sipp_stat(workdir, name, "SuccessfulCall(C)", "FailedCall(C)")


def trace_when(workdir, name, find, timeout=5.0, what="the awaited message"):
    """Poll SIPp's message trace until find(text) gives something; return it."""
    path = os.path.join(workdir, f"{name}.msg")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                found = find(f.read())
            if found:
                return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} in the SIPp trace:\n" + tail(workdir, name))


def relay_port_from_trace(workdir, name, timeout=5.0):
    """The m= port of the 200 OK (with SDP) in SIPp's message trace."""
    m = trace_when(workdir, name, lambda text: re.search(
        r"SIP/2\.0 200 OK.*?CSeq: *2 INVITE.*?c=IN IP4 (\S+).*?m=audio (\d+)", text, re.S),
        timeout, "200 OK with SDP")
    return m.group(1), int(m.group(2))


def test_sipp_caller_with_auth_to_python_callee_rtp_from_relay_only(instance, workdir):
    r = start_pbx(instance)
    callee = r.phone(CALLEE, "127.0.0.3")
    a_rtp, b_rtp = r.rtp("127.0.0.1"), r.rtp("127.0.0.3")
    try:
        csv_path = users_csv(workdir, instance, [(CALLER, CALLEE)])
        proc = subprocess.Popen(uac_cmd(workdir, instance, csv_path, 1, a_rtp.port, 3000),
                                cwd=workdir, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        inc = callee.incoming(10.0)
        assert "rf-sipp-uac" not in inc.invite.text()
        b_relay = (inc.invite.sdp()["addr"], inc.invite.sdp()["port"])
        inc.ring(180)
        inc.answer(make_sdp("127.0.0.3", b_rtp.port))
        a_relay = relay_port_from_trace(workdir, "uac")
        assert a_relay[0] == "127.0.0.1" and a_relay != b_relay
        send_both_ways(a_rtp, a_relay, b_rtp, b_relay, 40)
        assert b_rtp.wait_count(40, 3) >= 38 and a_rtp.wait_count(40, 3) >= 38
        assert b_rtp.sources() == {b_relay} and a_rtp.sources() == {a_relay}
        inc.answer_request("BYE", timeout=10.0)
        rc, log = finish(proc, workdir, "uac", 30)
    finally:
        r.close()
    assert rc == 0, log
    assert sipp_successes(workdir, "uac") == (1, 0), log
    rows = wait_cdr(instance, 1, lambda x: x["hangup"] == "caller")
    assert rows and rows[0]["caller"] == CALLER and rows[0]["result"] == 200, cdr_list(instance)
    assert rows[0]["packets_a"] >= 38 and rows[0]["packets_b"] >= 38, rows[0]["raw"]


def test_python_caller_to_sipp_callee_rtp_echo_through_relay(instance, workdir):
    r = start_pbx(instance)
    uas_port, media_port = free_udp_port(), free_udp_port()
    register_port(instance, CALLEE, uas_port)
    uas = subprocess.Popen(sipp_cmd(workdir, "uas", "uas-answer.xml", uas_port, 1,
                                    ["-mi", "127.0.0.1", "-mp", str(media_port), "-rtp_echo"]),
                           cwd=workdir, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)  # SIPp binds its sockets
        caller = r.phone(CALLER, "127.0.0.2")
        a_rtp = r.rtp("127.0.0.2")
        call = caller.call(CALLEE, make_sdp("127.0.0.2", a_rtp.port))
        final = call.wait_final(10.0)
        assert final.status == 200, final.text()
        a_relay = (final.sdp()["addr"], final.sdp()["port"])
        assert a_relay[0] == "127.0.0.1" and a_relay[1] != media_port
        a_rtp.send(a_relay, 40)
        # SIPp echoes to the relay, the relay sends it back from a_relay
        assert a_rtp.wait_count(38, 3) >= 38, a_rtp.count()
        assert a_rtp.sources() == {a_relay}, a_rtp.sources()
        ans = call.request("BYE", timeout=10.0)
        assert ans is not None and ans.status == 200, ans
        rc, log = finish(uas, workdir, "uas", 15)
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.communicate()
        r.close()
    assert rc == 0, log
    rows = wait_cdr(instance, 1, lambda x: x["hangup"] == "caller")
    assert rows and rows[0]["packets_a"] >= 38 and rows[0]["packets_b"] >= 38, cdr_list(instance)


def test_sipp_to_sipp_1000_calls_leave_the_port_pool_full(instance, workdir):
    """1,000 authenticated calls from a SIPp caller to a SIPp callee, at
    most two at a time, then the whole pool (4 calls of 4 ports) still
    works and the next call gets 503: no port leaked."""
    calls = int(os.environ.get("RF_CALLS_N", "1000"))
    extra = tuple(str(4001 + i) for i in range(10))
    r = start_pbx(instance, ports=16, extra=extra,
              calls={"max_cps": 1000, "max_calls_per_ext": 10, "max_calls": 1000})
    uas_port, media_port = free_udp_port(), free_udp_port()
    register_port(instance, CALLEE, uas_port)
    uas = subprocess.Popen(sipp_cmd(workdir, "uas", "uas-answer.xml", uas_port, calls,
                                    ["-mi", "127.0.0.1", "-mp", str(media_port), "-rtp_echo"]),
                           cwd=workdir, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        csv_path = users_csv(workdir, instance, [(CALLER, CALLEE)])
        uac = subprocess.Popen(uac_cmd(workdir, instance, csv_path, calls, 40000, 0,
                                       ["-r", "50", "-l", "2"]),
                               cwd=workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rc, log = finish(uac, workdir, "uac", 120)
        urc, ulog = finish(uas, workdir, "uas", 20)
    finally:
        for p in (uas,):
            if p.poll() is None:
                p.kill()
                p.communicate()
    ok, failed = sipp_successes(workdir, "uac")
    assert (ok, failed) == (calls, 0) and rc == 0, log
    rows = wait_cdr(instance, calls, lambda x: x["result"] == 200, timeout=5.0)
    assert len(rows) == calls, len(rows)

    # the full pool: four concurrent calls, and the fifth is refused
    live = []
    for i in range(4):
        a, b = extra[2 * i], extra[2 * i + 1]
        live.append(establish(r, a, b, f"127.0.1.{i + 1}", f"127.0.2.{i + 1}"))
    p = r.phone(extra[8], "127.0.1.9")
    r.phone(extra[9], "127.0.2.9")
    fifth = p.call(extra[9], make_sdp("127.0.1.9", 40010))
    assert fifth.wait_final().status == 503, fifth.final.text()
    for c in live:
        hang_up_from_caller(c)
    r.close()


PCAP = "/usr/share/sip-tester/g711a.pcap"


@pytest.mark.skipif(not os.path.exists(PCAP) or os.geteuid() != 0,
                    reason="needs sip-tester's g711a.pcap and root (SIPp plays pcap audio on a raw socket)")
def test_sipp_caller_plays_pcap_audio_to_sipp_callee_rtp_echo(instance, workdir):
    """SIPp to SIPp with audio from a file: the caller plays the 236-packet
    G.711 capture, the callee echoes it, and the relay's counters in the CDR
    show both directions went through it and nothing was foreign."""
    r = start_pbx(instance)
    uas_port, uas_media, uac_media = free_udp_port(), free_udp_port(), free_udp_port()
    register_port(instance, CALLEE, uas_port)
    uas = subprocess.Popen(sipp_cmd(workdir, "uas", "uas-answer.xml", uas_port, 1,
                                    ["-mi", "127.0.0.1", "-mp", str(uas_media), "-rtp_echo"]),
                           cwd=workdir, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        csv_path = users_csv(workdir, instance, [(CALLER, CALLEE)])
        cmd = sipp_cmd(workdir, "uac", "uac-call-pcap.xml", free_udp_port(), 1,
                       ["-inf", csv_path, "-auth_uri", f"{CALLEE}@127.0.0.1",
                        "-key", "domain", "127.0.0.1", "-mi", "127.0.0.1", "-mp", str(uac_media),
                        "-recv_timeout", "20000", f"127.0.0.1:{instance.port}"])
        uac = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rc, log = finish(uac, workdir, "uac", 40)
        urc, ulog = finish(uas, workdir, "uas", 15)
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.communicate()
        r.close()
    assert rc == 0 and sipp_successes(workdir, "uac") == (1, 0), log
    assert urc == 0, ulog
    rows = wait_cdr(instance, 1, lambda x: x["hangup"] == "caller")
    assert rows and rows[0]["result"] == 200, cdr_list(instance)
    row = rows[0]
    assert row["packets_a"] >= 230, row["raw"]
    assert row["packets_b"] >= 230, row["raw"]
    assert row["dropped_foreign"] == 0, row["raw"]
