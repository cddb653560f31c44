"""`ringfence ban list|add|del`, `ringfence ext unlock` and `ext locked`
on a real instance.

The bans and locks the daemon's guard writes are simulated by inserting
rows into the instance database as the user that owns it, exactly as
store_ban_put and store_lock_put write them. Every command is checked for
its exit status, its message, what it stored and its security event;
every refusal also for leaving the database and the log untouched.
"""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from conftest import cli_fails as fails, db_rows
from sipua import UA, Conn, wait_until

AS_ROOT = os.geteuid() == 0
DAY = 86400
FAR = 4_000_000_000  # 2096: a ban that is active for the whole test
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def db_path(inst):
    return os.path.join(inst.dir, "ringfence.db")


def db_write(inst, sql, rows):
    """Write rows as the database's owner, like the daemon does."""
    st = os.stat(db_path(inst))
    code = ("import sqlite3, sys, json\n"
            "con = sqlite3.connect(sys.argv[1])\n"
            "con.executemany(sys.argv[2], json.loads(sys.argv[3]))\n"
            "con.commit()\n")
    kw = {"user": st.st_uid, "group": st.st_gid} if AS_ROOT else {}
    subprocess.run([sys.executable, "-c", code, db_path(inst), sql, json.dumps(rows)],
                   check=True, **kw)


def put_bans(inst, *rows):
    db_write(inst, "INSERT INTO bans (addr, created, until, level, reason) VALUES (?, ?, ?, ?, ?)",
             [list(r) for r in rows])


def put_locks(inst, *rows):
    db_write(inst, "INSERT INTO ext_locks (ext, created, until, failures, sources)"
             " VALUES (?, ?, ?, ?, ?)", [list(r) for r in rows])


def bans(inst):
    return {r[0]: r[1:] for r in db_rows(inst, "SELECT addr, created, until, level, reason FROM bans")}


def locks(inst):
    return {r[0]: r[1:] for r in db_rows(inst, "SELECT ext, created, until, failures, sources"
                                               " FROM ext_locks")}


def table(out):
    """Rows of a text table as lists of cells (header first)."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]


# ---- help ----

def test_help_pages(instance):
    p = instance.cli("ban", "--help")
    for cmd in ("ban list", "ban add", "ban del"):
        assert cmd in p.stdout
    for args, words in ((("ban", "add", "--help"), ("--for DURATION", "--reason TEXT", "365d",
                                                    "ban_added", "EXIT STATUS")),
                        (("ban", "list", "--help"), ("--all", "--json", "REMAINING")),
                        (("ban", "del", "--help"), ("ban_lifted",)),
                        (("ext", "unlock", "--help"), ("account_unlocked", "not locked")),
                        (("ext", "locked", "--help"), ("FAILURES", "SOURCES"))):
        out = instance.cli(*args).stdout
        assert out.startswith(f"NAME\n    ringfence {args[0]} {args[1]} - ")
        for w in words:
            assert w in out, (args, w)
    assert "ext unlock" in instance.cli("ext", "--help").stdout
    assert "ban list" in instance.cli("help").stdout


# ---- ban add ----

def test_ban_add_default_and_event(instance):
    before = time.time()
    p = instance.cli("ban", "add", "203.0.113.5")
    after = time.time()
    assert re.fullmatch(rf"203\.0\.113\.5 banned until {ISO} \(24h\), reason manual\n", p.stdout)
    created, until, level, reason = bans(instance)["203.0.113.5"]
    assert int(before) <= created <= after
    assert until - created == DAY
    assert (level, reason) == (0, "manual")
    until_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until))
    assert until_iso in p.stdout
    ev = instance.security_events("ban_added")
    assert len(ev) == 1
    assert ev[0].endswith("SECURITY event=ban_added addr=203.0.113.5 reason=manual"
                          f" duration=86400 level=0 until={until_iso} by=cli"), ev[0]


def test_ban_add_for_and_reason(instance):
    p = instance.cli("ban", "add", "2001:db8::66", "--for", "7d", "--reason", "abuse_report")
    assert "(7d), reason abuse_report" in p.stdout
    created, until, level, reason = bans(instance)["2001:db8::66"]
    assert until - created == 7 * DAY
    assert reason == "abuse_report"
    for i, (dur, secs) in enumerate((("90s", 90), ("15m", 900), ("36h", 36 * 3600),
                                     ("365d", 365 * DAY), ("1s", 1))):
        addr = f"192.0.2.{10 + i}"
        instance.cli("ban", "add", addr, "--for", dur)
        created, until, _, _ = bans(instance)[addr]
        assert until - created == secs, dur
    ev = instance.security_events("ban_added")
    assert "addr=2001:db8::66 reason=abuse_report duration=604800 level=0 until=" in ev[0]
    assert ev[0].endswith(" by=cli")
    assert len(ev) == 6


@pytest.mark.parametrize("given, stored", [
    ("2001:DB8:0:0::1", "2001:db8::1"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("::FFFF:198.51.100.1", "198.51.100.1"),
    ("2001:db8:0:0:0:0:0:2", "2001:db8::2"),
    ("::1", "::1"),
])
def test_ban_add_stores_canonical_text(instance, given, stored):
    p = instance.cli("ban", "add", given)
    assert p.stdout.startswith(f"{stored} banned until ")
    assert list(bans(instance)) == [stored]
    assert f" addr={stored} " in instance.security_events("ban_added")[0]
    # Any spelling of the address finds the ban again.
    assert instance.cli("ban", "del", given).returncode == 0
    assert bans(instance) == {}


@pytest.mark.parametrize("addr, message", [
    ("10.0.0.0/8", "'10.0.0.0/8' is a network (CIDR): ban takes one address, without a prefix length"),
    ("203.0.113.5/32", "is a network (CIDR)"),
    ("2001:db8::/32", "is a network (CIDR)"),
    ("203.0.113.5:5060", "'203.0.113.5:5060' has a port: give the address alone, without :PORT"),
    ("[2001:db8::1]:5060", "'[2001:db8::1]:5060' has a port: give the address alone, without brackets and port"),
    ("[2001:db8::1]", "has brackets: give the IPv6 address without them"),
    ("fe80::1%eth0", "has a zone index"),
    ("example.com", "'example.com' is not an IPv4 or IPv6 address"),
    ("203.0.113", "is not an IPv4 or IPv6 address"),
    ("203.0.113.256", "is not an IPv4 or IPv6 address"),
    ("1.2.3.4 ", "is not an IPv4 or IPv6 address"),
    ("", "the address is empty"),
    ("0.0.0.0", "'0.0.0.0' is the unspecified address"),
    ("::", "'::' is the unspecified address"),
    ("224.0.0.1", "is a multicast or broadcast address"),
    ("255.255.255.255", "is a multicast or broadcast address"),
    ("ff02::1", "is a multicast or broadcast address"),
    ("1.2.3.4\x1b[2J", "'1.2.3.4?[2J' is not an IPv4 or IPv6 address"),
])
def test_ban_add_refuses_bad_address(instance, addr, message):
    fails(instance, ["ban", "add", addr], 2, message)
    assert bans(instance) == {}
    assert instance.security_events("ban_added") == []


@pytest.mark.parametrize("dur, message", [
    ("90", "'90' has no unit: add s, m, h or d (90s, 15m, 24h, 7d)"),
    ("10x", "'10x' has an unknown unit"),
    ("1y", "has an unknown unit"),
    ("-5m", "'-5m' is negative"),
    ("0s", "'0s' is zero: the shortest is 1s"),
    ("366d", "'366d' is too long: the longest is 365d"),
    ("8761h", "is too long: the longest is 365d"),
    ("99999999999999999999999d", "is too long"),
    ("15m30s", "has junk after the unit"),
    ("abc", "'abc' is not a duration"),
    ("", "is empty"),
])
def test_ban_add_refuses_bad_duration(instance, dur, message):
    first = fails(instance, ["ban", "add", "203.0.113.5", "--for", dur], 2, message)
    assert "--for: " in first
    assert bans(instance) == {}
    assert instance.security_events("ban_added") == []


@pytest.mark.parametrize("reason", ["Manual", "two words", "abuse-report", "x" * 16, "",
                                    "a=b", "caf\u00e9"])
def test_ban_add_refuses_bad_reason(instance, reason):
    first = fails(instance, ["ban", "add", "203.0.113.5", "--reason", reason], 2,
                  "is not a reason: write 1 to 15 characters of a-z, 0-9 and '_'")
    assert first.startswith("ringfence: ban add: --reason: '")
    assert bans(instance) == {}
    assert instance.security_events("ban_added") == []


def test_ban_add_usage_errors(instance):
    p = instance.cli("ban", "add", check=False)
    assert p.returncode == 2 and "ban add" in p.stderr
    p = instance.cli("ban", "add", "192.0.2.1", "192.0.2.2", check=False)
    assert p.returncode == 2
    p = instance.cli("ban", "ad", "192.0.2.1", check=False)
    assert p.returncode == 2 and "did you mean 'ban add'" in p.stderr
    assert bans(instance) == {}


def test_ban_add_refuses_whitelisted_address(instance):
    """The guard never bans a whitelisted network, so a ban there would
    only pretend: refused, naming the entry."""
    instance.set_conf("guard", "whitelist", "192.0.2.0/24, 2001:db8::/32")
    fails(instance, ["ban", "add", "192.0.2.77"], 1,
          "192.0.2.77 is in [guard] whitelist (192.0.2.0/24), which is never banned: "
          "take it out of the whitelist first")
    fails(instance, ["ban", "add", "2001:db8::5"], 1, "is in [guard] whitelist (2001:db8::/32)")
    fails(instance, ["ban", "add", "::ffff:192.0.2.1"], 1, "192.0.2.1 is in [guard] whitelist")
    assert bans(instance) == {}
    assert instance.security_events("ban_added") == []
    assert instance.cli("ban", "add", "192.0.3.1").returncode == 0


def test_ban_add_with_the_guard_off_says_so(instance):
    instance.set_conf("guard", "enabled", "false")
    p = instance.cli("ban", "add", "203.0.113.5")
    assert "note: the guard is off ([guard] enabled = false)" in p.stdout
    assert "203.0.113.5" in bans(instance)
    assert "guard is off" not in instance.cli("ban", "list").stdout


def test_reban_keeps_level(instance):
    now = int(time.time())
    put_bans(instance, ("192.0.2.1", now - 60, now + 600, 3, "auth_failures"),
             ("192.0.2.2", now - 5000, now - 100, 2, "scan"))
    p = instance.cli("ban", "add", "192.0.2.1", "--for", "2h")
    assert p.stdout.startswith("192.0.2.1 was banned already; now banned until ")
    created, until, level, reason = bans(instance)["192.0.2.1"]
    # An active ban keeps its start and its level, and takes the new end.
    assert created == now - 60
    assert now + 7200 <= until <= int(time.time()) + 7200
    assert (level, reason) == (3, "manual")
    assert " addr=192.0.2.1 reason=manual duration=7200 level=3 " in instance.security_events("ban_added")[0]
    # An ended ban kept for repeat counting starts anew, at its level.
    p = instance.cli("ban", "add", "192.0.2.2", "--for", "1h")
    assert p.stdout.startswith("192.0.2.2 banned until ")
    created, until, level, _ = bans(instance)["192.0.2.2"]
    assert created >= now and until - created == 3600 and level == 2


# ---- ban list ----

def test_ban_list_empty(instance):
    p = instance.cli("ban", "list")
    assert table(p.stdout) == [["ADDRESS", "UNTIL", "REMAINING", "LEVEL", "REASON"],
                               ["no active bans"]]
    assert json.loads(instance.cli("ban", "list", "--json").stdout) == []
    assert "no bans" in instance.cli("ban", "list", "--all").stdout


def test_ban_list_active_and_all(instance):
    now = int(time.time())
    put_bans(instance,
             ("203.0.113.5", now - 30, now + 870, 0, "auth_failures"),
             ("2001:db8::1", now - 100, now + 3 * DAY + 3600, 4, "scan"),
             ("198.51.100.7", now - 9000, now - 60, 1, "flood"))
    rows = table(instance.cli("ban", "list").stdout)
    assert rows[0] == ["ADDRESS", "UNTIL", "REMAINING", "LEVEL", "REASON"]
    assert [r[0] for r in rows[1:]] == ["2001:db8::1", "203.0.113.5"]  # address order
    addr, until, remaining, level, reason = rows[2]
    assert re.fullmatch(ISO, until)
    assert re.fullmatch(r"14m[23]\ds", remaining), remaining
    assert (level, reason) == ("0", "auth_failures")
    assert re.fullmatch(r"3d(1h0m0s|0h59m[0-5]\ds)", rows[1][2]), rows[1][2]

    js = json.loads(instance.cli("ban", "list", "--json").stdout)
    assert [b["addr"] for b in js] == ["2001:db8::1", "203.0.113.5"]
    b = js[1]
    assert set(b) == {"addr", "created", "until", "until_unix", "remaining", "remaining_s",
                      "level", "reason", "active"}
    assert b["until_unix"] == now + 870
    assert b["until"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 870))
    assert b["created"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 30))
    assert 860 <= b["remaining_s"] <= 870 and b["active"] is True
    assert b["level"] == 0 and b["reason"] == "auth_failures"

    every = json.loads(instance.cli("ban", "list", "--all", "--json").stdout)
    assert [b["addr"] for b in every] == ["198.51.100.7", "2001:db8::1", "203.0.113.5"]
    assert every[0]["active"] is False and every[0]["remaining"] == "expired"
    assert every[0]["remaining_s"] == 0 and every[0]["level"] == 1
    rows = table(instance.cli("ban", "list", "--all").stdout)
    assert rows[1][0] == "198.51.100.7" and rows[1][2] == "expired"


# ---- ban del ----

def test_ban_del(instance):
    now = int(time.time())
    put_bans(instance, ("203.0.113.5", now, now + 900, 2, "auth_failures"),
             ("198.51.100.7", now - 9000, now - 60, 1, "flood"))
    p = instance.cli("ban", "del", "203.0.113.5")
    assert p.stdout == "ban on 203.0.113.5 lifted; its repeat count is forgotten\n"
    assert "203.0.113.5" not in bans(instance)
    ev = instance.security_events("ban_lifted")
    assert len(ev) == 1
    assert ev[0].endswith("SECURITY event=ban_lifted addr=203.0.113.5 reason=manual by=cli"), ev[0]
    # An ended ban is forgotten too, so the next one starts at level 0.
    p = instance.cli("ban", "del", "198.51.100.7")
    assert p.stdout.startswith("the ban on 198.51.100.7 had ended at ")
    assert bans(instance) == {}
    assert len(instance.security_events("ban_lifted")) == 2


def test_ban_del_errors(instance):
    fails(instance, ["ban", "del", "203.0.113.5"], 1, "203.0.113.5 is not banned")
    fails(instance, ["ban", "del", "10.0.0.0/8"], 2, "is a network (CIDR)")
    fails(instance, ["ban", "del", "203.0.113.5:5060"], 2, "has a port")
    fails(instance, ["ban", "del", "nonsense"], 2, "is not an IPv4 or IPv6 address")
    assert instance.security_events("ban_lifted") == []


# ---- account locks ----

def test_ext_locked(instance):
    assert table(instance.cli("ext", "locked").stdout) == [
        ["EXT", "UNTIL", "REMAINING", "FAILURES", "SOURCES"], ["no locked extensions"]]
    assert json.loads(instance.cli("ext", "locked", "--json").stdout) == []
    now = int(time.time())
    put_locks(instance, ("1002", now - 10, now + 2530, 20, 3),
              ("1001", now - 4000, now - 400, 25, 4),   # ended
              ("9999", now - 10, now + 3590, 30, 7))    # no such extension
    rows = table(instance.cli("ext", "locked").stdout)
    assert rows[0] == ["EXT", "UNTIL", "REMAINING", "FAILURES", "SOURCES"]
    assert len(rows) == 2
    ext, until, remaining, failures, sources = rows[1]
    assert (ext, failures, sources) == ("1002", "20", "3")
    assert re.fullmatch(ISO, until) and re.fullmatch(r"42m\d+s", remaining), remaining
    js = json.loads(instance.cli("ext", "locked", "--json").stdout)
    assert len(js) == 1
    assert set(js[0]) == {"ext", "created", "until", "until_unix", "remaining", "remaining_s",
                          "failures", "sources", "active"}
    assert js[0]["ext"] == "1002" and js[0]["until_unix"] == now + 2530
    assert js[0]["failures"] == 20 and js[0]["sources"] == 3 and js[0]["active"] is True


def test_ext_unlock(instance):
    now = int(time.time())
    put_locks(instance, ("1001", now - 10, now + 3590, 20, 3))
    p = instance.cli("ext", "unlock", "1001")
    assert p.stdout == "extension 1001 unlocked\n"
    assert locks(instance) == {}
    ev = instance.security_events("account_unlocked")
    assert len(ev) == 1
    assert ev[0].endswith('SECURITY event=account_unlocked ext="1001" reason=manual by=cli'), ev[0]
    assert json.loads(instance.cli("ext", "locked", "--json").stdout) == []
    # Unlocking touches nothing else about the extension.
    assert db_rows(instance, "SELECT count(*) FROM extensions WHERE ext = '1001'") == [(1,)]


def test_ext_unlock_errors(instance):
    now = int(time.time())
    put_locks(instance, ("1002", now - 4000, now - 400, 25, 4),
              ("4242", now - 10, now + 3590, 20, 3))
    fails(instance, ["ext", "unlock", "1001"], 1, "extension 1001 is not locked")
    # A lock that has ended is no lock, and is left for the guard.
    fails(instance, ["ext", "unlock", "1002"], 1, "extension 1002 is not locked")
    fails(instance, ["ext", "unlock", "4242"], 1, "extension 4242 does not exist")
    fails(instance, ["ext", "unlock", "10 01"], 2, "extension contains a space at position 3")
    fails(instance, ["ext", "unlock", "x" * 33], 2, "extension is too long")
    assert set(locks(instance)) == {"1002", "4242"}
    assert instance.security_events("account_unlocked") == []


# ---- with the daemon running ----

def answered(inst, src):
    """Whether a REGISTER from src gets any answer from the daemon."""
    conn = Conn("udp", "127.0.0.1", inst.port, src=src)
    try:
        return UA(conn, "1001", "x").request(timeout=1.5) is not None
    finally:
        conn.close()


def test_ban_add_and_del_reach_the_running_daemon(pbx):
    """A ban made with the CLI silences the address in the running daemon
    within a second or two, and only that address; ban del lifts it."""
    src = "127.0.6.1"
    assert answered(pbx, src)
    pbx.cli("ban", "add", src, "--for", "15m")
    assert wait_until(lambda: not answered(pbx, src), 5), "ban add must reach the daemon"
    assert answered(pbx, "127.0.6.2")
    assert [b["addr"] for b in json.loads(pbx.cli("ban", "list", "--json").stdout)] == [src]
    pbx.cli("ban", "del", src)
    assert wait_until(lambda: answered(pbx, src), 5), "ban del must reach the daemon"
    assert json.loads(pbx.cli("ban", "list", "--json").stdout) == []
    assert pbx.proc.poll() is None
