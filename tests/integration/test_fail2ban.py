"""The shipped Fail2Ban filter, run by the stock fail2ban-regex over the
security log of a real daemon that received real failed registrations,
including injection attempts that try to make the filter ban someone else.

Every attempt comes from its own 127.0.0.x address (all of 127/8 is local
on Linux), so the address Fail2Ban extracts can be checked line by line.
"""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, DATA
from sipwire import Endpoint, authorization, register_request
from sipua import wait_until

FILTER = os.path.join(ROOT, "contrib", "fail2ban", "filter.d", "ringfence.conf")
JAIL = os.path.join(ROOT, "contrib", "fail2ban", "jail.d", "ringfence.local.example")
SAMPLE = os.path.join(DATA, "fail2ban", "secevent-sample.log")

# The documented line format (docs/security-events.md), strictly.
LINE_RE = re.compile(
    r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ringfence\[\d+\]: SECURITY '
    r'event=(?P<event>[a-z_]+)'
    r'(?: src=(?:(?P<ip4>\d+\.\d+\.\d+\.\d+)|\[(?P<ip6>[0-9a-f:.]+)\]):\d+ proto=(?:udp|tcp|tls))?'
    r'(?P<rest>(?: [a-z_]+=(?:"[^" ]*"|[^" =]+))*)(?: \.\.\.)?$')


def counted(m):
    """What the filter is documented to count."""
    if m["event"] == "auth_failed":
        return not re.search(r" reason=(?:stale_nonce|replayed)(?: |$)", m["rest"])
    return m["event"] in ("acl_denied", "bad_message")


INJECTED = "1.2.3.4"

pytestmark = pytest.mark.skipif(shutil.which("fail2ban-regex") is None,
                                reason="fail2ban-regex not installed (Debian package fail2ban)")


def fail2ban_matches(log):
    """[(ip, line)] for every line the filter matches, from fail2ban-regex."""
    p = subprocess.run(["fail2ban-regex", "--raw", "--out", "<ip> <msg>", log, FILTER],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = []
    for ln in p.stdout.splitlines():
        if not ln.strip():
            continue
        ip, _, line = ln.partition(" ")
        out.append((ip, line))
    return out


def fail2ban_summary(log):
    p = subprocess.run(["fail2ban-regex", "--raw", log, FILTER],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", p.stdout, re.M)
    assert m, p.stdout
    return tuple(int(x) for x in m.groups())


def parse_log(path):
    """(parsed lines, lines that break the documented format)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    good, bad = [], []
    for ln in lines:
        m = LINE_RE.match(ln)
        (good if m else bad).append((ln, m))
    return good, bad


def check_log_against_filter(path, expect_sources):
    """The whole contract: every line well-formed, every counted line
    matched by Fail2Ban with the address in its src field, nothing else
    matched, and no injected address ever extracted. Returns the matches."""
    good, bad = parse_log(path)
    assert not bad, "lines outside the documented format:\n" + "\n".join(l for l, _ in bad)

    matches = fail2ban_matches(path)
    by_line = {}
    for ip, line in matches:
        by_line.setdefault(line, []).append(ip)

    expected = [(ln, m["ip4"] or m["ip6"]) for ln, m in good if counted(m)]
    for ln, ip in expected:
        assert ip, f"a counted event without a source: {ln}"
        got = by_line.get(ln)
        assert got == [ip], f"filter gave {got} for:\n{ln}"
    assert len(matches) == len(expected), \
        "filter matched lines it should not:\n" + "\n".join(
            l for _, l in matches if l not in dict(expected))
    ips = [ip for ip, _ in matches]
    assert INJECTED not in ips
    assert set(ips) <= set(expect_sources), set(ips) - set(expect_sources)
    return matches


# ----------------------------------------------------- the filter on its own

def test_filter_on_sample_log():
    """tests/data/fail2ban/secevent-sample.log is produced by the secevent
    code itself (test_secevent.c checks that it still is)."""
    matches = check_log_against_filter(SAMPLE, {
        "203.0.113.5", "2001:db8::5", "198.51.100.20", "192.0.2.44",
        "203.0.113.7", "203.0.113.8"})
    assert [ip for ip, _ in matches] == [
        "203.0.113.5", "2001:db8::5", "198.51.100.20", "192.0.2.44",
        "203.0.113.7", "203.0.113.8"]
    # stale_nonce, register_ok and ext_added are not failures.
    assert fail2ban_summary(SAMPLE) == (9, 0, 6, 3)


def test_filter_skips_replayed_credentials(tmp_path):
    """A slow phone can answer with a nonce the daemon no longer trusts:
    like the guard, the filter does not count it."""
    log = tmp_path / "security.log"
    log.write_text(
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed '
        'src=203.0.113.5:5060 proto=udp ext="1001" method=REGISTER reason=replayed\n'
        '2026-11-26T15:04:06.123Z ringfence[812]: SECURITY event=auth_failed '
        'src=203.0.113.6:5060 proto=udp ext="1001" method=REGISTER reason=wrong_password\n')
    p = subprocess.run(["fail2ban-regex", "--raw", "--out", "row", str(log), FILTER],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "203.0.113.6" in p.stdout and "203.0.113.5" not in p.stdout, p.stdout


def test_filter_reads_timestamps_as_utc(tmp_path):
    log = tmp_path / "security.log"
    log.write_text('2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed '
                   'src=203.0.113.5:5060 proto=udp ext="1001" reason=wrong_password\n')
    p = subprocess.run(["fail2ban-regex", "--raw", "--out", "row", str(log), FILTER],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # 2026-11-26T15:04:05Z as a Unix time, whatever the local time zone.
    assert "'203.0.113.5',\t1795705445" in p.stdout, p.stdout


def test_filter_refuses_forged_lines(tmp_path):
    """Lines that are not ours, or that put src anywhere but second, are
    never matched: a forged line in some other log gives nothing."""
    log = tmp_path / "forged.log"
    log.write_text(
        # src not second
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed ext="x" src=1.2.3.4:5060\n'
        # another program
        '2026-11-26T15:04:05.123Z sshd[812]: SECURITY event=auth_failed src=1.2.3.4:5060 proto=udp\n'
        # no marker
        '2026-11-26T15:04:05.123Z ringfence[812]: event=auth_failed src=1.2.3.4:5060 proto=udp\n'
        # an escaped value is not a field
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed\\x20src\\x3d1.2.3.4:5060\n'
        # events that are not failures
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=register_ok src=1.2.3.4:5060 proto=udp\n'
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed src=1.2.3.4:5060 proto=udp reason=stale_nonce\n'
        # trailing junk after the port
        '2026-11-26T15:04:05.123Z ringfence[812]: SECURITY event=auth_failed src=1.2.3.4:5060x proto=udp\n')
    assert fail2ban_matches(str(log)) == []


def test_jail_example_loads_with_stock_fail2ban(tmp_path):
    """The jail example and the filter pass `fail2ban-client -t` on top of
    the distribution's own configuration."""
    etc = "/etc/fail2ban"
    if not os.path.isdir(etc) or shutil.which("fail2ban-client") is None:
        pytest.skip("no stock fail2ban configuration")
    conf = tmp_path / "fail2ban"
    shutil.copytree(etc, conf, ignore=shutil.ignore_patterns("*.local", "defaults-debian.conf"))
    shutil.copy(FILTER, conf / "filter.d" / "ringfence.conf")
    jail = open(JAIL).read().replace("/var/lib/ringfence/security.log", SAMPLE)
    (conf / "jail.d" / "ringfence.local").write_text(jail)
    p = subprocess.run(["fail2ban-client", "-c", str(conf), "-t"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "OK" in p.stdout + p.stderr, p.stdout + p.stderr


# ------------------------------------------- real failures against the daemon

def challenge_then_answer(pbx, src, auth_user, password, **kw):
    """One failing login as a phone does it: REGISTER, 401 with a digest
    challenge, REGISTER with an Authorization. Returns both responses."""
    dst = ("127.0.0.1", pbx.port)
    user = kw.pop("user", auth_user)
    username_raw = kw.pop("username_raw", None)
    with Endpoint(src, dst) as ep:
        first = ep.request(register_request(ep, user, "127.0.0.1", **kw))
        assert first is not None, f"no answer to REGISTER from {src}"
        assert first.status == 401, first.raw
        ch = first.challenge("SHA-256")
        assert ch.get("nonce") and ch.get("realm"), first.raw
        auth = authorization("SHA-256", auth_user, ch["realm"], password, "REGISTER",
                             "sip:127.0.0.1", ch["nonce"], username_raw=username_raw)
        second = ep.request(register_request(ep, user, "127.0.0.1", authorization=auth,
                                             cseq=2, **kw))
        assert second is not None, f"no answer to the authenticated REGISTER from {src}"
        return first, second


FAKE_LINE = ("2026-11-26T15:04:05.123Z ringfence[1]: SECURITY event=auth_failed "
             f"src={INJECTED}:5060 proto=udp ext=\"1001\" reason=wrong_password")


def test_real_failures_are_matched_with_their_source(pbx):
    attempts = {}  # source -> (description, expected reason or None)

    # A wrong password for a real extension.
    _, r = challenge_then_answer(pbx, "127.0.0.11", "1001", "Wrong-Passw0rd!")
    assert r.status == 401, r.raw
    attempts["127.0.0.11"] = ("wrong password", "wrong_password")

    # A user that does not exist: the same 401 on the wire.
    _, r = challenge_then_answer(pbx, "127.0.0.12", "9999", "Whatever-1x")
    assert r.status == 401, r.raw
    attempts["127.0.0.12"] = ("unknown user", "unknown_user")

    # A display name with quotes and a fake src field.
    _, r = challenge_then_answer(pbx, "127.0.0.13", "1001", "Wrong-Passw0rd!",
                                 display=f'"a\\" src={INJECTED}:5060 proto=udp \\""')
    assert r.status == 401, r.raw
    attempts["127.0.0.13"] = ("display name injection", "wrong_password")

    # A user name carrying src=1.2.3.4, in the digest user name (logged).
    evil = f"1001 src={INJECTED}:5060 proto=udp"
    _, r = challenge_then_answer(pbx, "127.0.0.14", evil, "Wrong-Passw0rd!",
                                 user=f"1001src={INJECTED}")
    assert r.status == 401, r.raw
    attempts["127.0.0.14"] = ("user name injection", None)

    # A user name with an encoded newline followed by a forged line.
    evil = "1001%0a" + FAKE_LINE.replace('"', "'")
    _, r = challenge_then_answer(pbx, "127.0.0.15", evil, "Wrong-Passw0rd!",
                                 user="1001%0a" + f"src={INJECTED}")
    assert r.status == 401, r.raw
    attempts["127.0.0.15"] = ("encoded newline", None)

    # A User-Agent that is a whole forged log line.
    _, r = challenge_then_answer(pbx, "127.0.0.16", "1001", "Wrong-Passw0rd!",
                                 user_agent=FAKE_LINE)
    assert r.status == 401, r.raw
    attempts["127.0.0.16"] = ("forged User-Agent", "wrong_password")

    # Quotes inside the digest user name itself, escaped the SIP way.
    _, r = challenge_then_answer(pbx, "127.0.0.17", f'1001" src={INJECTED} x="', "Wrong-Passw0rd!",
                                 user="1001",
                                 username_raw=f'1001\\" src={INJECTED} x=\\"')
    assert r.status == 401, r.raw
    attempts["127.0.0.17"] = ("quoted user name", None)

    def logged():
        srcs = {}
        for ln in pbx.security_events():
            m = LINE_RE.match(ln)
            if m and counted(m):
                srcs.setdefault(m["ip4"] or m["ip6"], []).append(ln)
        return srcs if set(attempts) <= set(srcs) else None

    seen = wait_until(logged, 5.0)
    assert seen, "a failure is missing from the security log:\n" + \
        "\n".join(f"{s}: {d}" for s, (d, _) in attempts.items()) + \
        "\n--- log:\n" + "\n".join(pbx.security_events())

    # The log says internally why; the wire answer above did not.
    for src, (desc, reason) in attempts.items():
        if reason:
            assert any(f" reason={reason}" in l for l in seen[src]), (desc, seen[src])

    matches = check_log_against_filter(pbx.seclog, set(attempts))
    matched_ips = {ip for ip, _ in matches}
    assert matched_ips == set(attempts), matched_ips ^ set(attempts)
    # Nothing that came from the network was written raw.
    with open(pbx.seclog, "rb") as f:
        raw = f.read()
    assert f"src={INJECTED}".encode() not in raw
    assert raw.count(b"\n") == raw.count(b" ringfence[")


def test_ipv6_failures_are_matched(instance):
    """A source on ::1 is logged as [::1]:port and Fail2Ban extracts ::1."""
    instance.set_conf("sip", "listen", "127.0.0.1,::1")
    instance.start()
    dst = ("::1", instance.port)
    with Endpoint("::1", dst) as ep:
        first = ep.request(register_request(ep, "1001", "127.0.0.1"))
        assert first is not None and first.status == 401, first
        ch = first.challenge("SHA-256")
        auth = authorization("SHA-256", "1001", ch["realm"], "Wrong-Passw0rd!", "REGISTER",
                             "sip:127.0.0.1", ch["nonce"])
        r = ep.request(register_request(ep, "1001", "127.0.0.1", authorization=auth, cseq=2))
        assert r is not None and r.status == 401, r
    assert wait_until(lambda: instance.security_events("auth_failed"), 5.0)
    assert any("src=[::1]:" in l for l in instance.security_events("auth_failed"))
    matches = check_log_against_filter(instance.seclog, {"::1"})
    assert [ip for ip, _ in matches] == ["::1"]
