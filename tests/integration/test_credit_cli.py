"""Credit limits on the command line: an extension's spending caps set,
shown and refused when malformed, the [credit] keys, and `ringfence spend`
computed from call records and calls in progress written into a stopped
instance's database."""
import calendar
import json
import os
import sqlite3
import time

import pytest

UTC = {"TZ": "UTC"}
MICRO = 1_000_000


def db(inst):
    return sqlite3.connect(os.path.join(inst.dir, "ringfence.db"))


def ext_json(inst, ext):
    return json.loads(inst.cli("ext", "show", ext, "--json").stdout)


def caps_in_db(inst, ext):
    with db(inst) as c:
        return c.execute("SELECT daily_cap, monthly_cap FROM extensions WHERE ext=?",
                         (ext,)).fetchone()


def spend(inst):
    return json.loads(inst.cli("spend", "--json", env=UTC).stdout)


def row(rows, scope, name, period):
    found = [r for r in rows if (r["scope"], r["name"], r["period"]) == (scope, name, period)]
    assert len(found) == 1, (scope, name, period, rows)
    return found[0]


def add_cdr(inst, caller, start_s, cost_micro, trunk="sip1", direction="outbound"):
    with db(inst) as c:
        c.execute("INSERT INTO cdr (caller, callee, call_id, start_ms, answer_ms, end_ms,"
                  " duration_s, result, hangup, direction, e164, class, trunk, cost)"
                  " VALUES (?, '01632960123', ?, ?, ?, ?, 60, 200, 'caller', ?,"
                  " '+441632960123', 'geographic', ?, ?)",
                  (caller, f"{start_s}-{cost_micro}@test", start_s * 1000, start_s * 1000 + 500,
                   start_s * 1000 + 60500, direction, trunk, cost_micro))


def put_live_calls(inst, calls, seen_ms):
    """Replace the live call set as the daemon does: every row stamped
    with the time the set was written."""
    with db(inst) as c:
        c.execute("DELETE FROM live_calls")
        for call_id, caller, trunk, start_ms, answer_ms, connection, per_minute in calls:
            c.execute("INSERT INTO live_calls (call_id, caller, trunk, start_ms, answer_ms,"
                      " connection, per_minute, seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (call_id, caller, trunk, start_ms, answer_ms, connection, per_minute,
                       seen_ms))


def periods_now():
    """Today's and this month's first second in UTC, away from midnight."""
    now = time.time()
    if now % 86400 > 86400 - 30:
        time.sleep(86400 - now % 86400 + 1)  # do not straddle midnight
        now = time.time()
    tm = time.gmtime(now)
    day = calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0))
    month = calendar.timegm((tm.tm_year, tm.tm_mon, 1, 0, 0, 0))
    return int(now), day, month


# ---- caps on extensions ----

def test_caps_are_set_shown_and_logged(instance):
    instance.cli("ext", "add", "1003", "--daily-cap", "7.5", "--monthly-cap", "70")
    assert caps_in_db(instance, "1003") == (7_500_000, 70_000_000)
    d = ext_json(instance, "1003")
    assert (d["daily_cap"], d["daily_cap_micro"]) == ("7.50", 7_500_000)
    assert (d["monthly_cap"], d["monthly_cap_micro"]) == ("70.00", 70_000_000)

    out = instance.cli("ext", "set", "1001", "--daily-cap", "0.50").stdout
    assert "daily_cap: 0.50\n" in out
    assert "monthly_cap: default\n" in out
    assert caps_in_db(instance, "1001") == (500_000, 0)
    events = instance.security_events("ext_changed")
    assert events and events[-1].endswith('ext="1001" by=cli change=daily_cap')

    instance.cli("ext", "set", "1003", "--daily-cap", "default", "--monthly-cap", "0")
    assert caps_in_db(instance, "1003") == (0, 0)
    d = ext_json(instance, "1003")
    assert (d["daily_cap"], d["daily_cap_micro"]) == ("default", 0)
    assert instance.security_events("ext_changed")[-1].endswith(
        "change=daily_cap,monthly_cap")
    # Exact to the micro-unit, and as large as a price may be.
    instance.cli("ext", "set", "1002", "--daily-cap", "0.000001", "--monthly-cap", "1000000")
    assert caps_in_db(instance, "1002") == (1, 1_000_000 * MICRO)


@pytest.mark.parametrize("value, reason", [
    ("20,00", "'20,00' has a comma: write the decimal point as '.'"),
    ("-5", "'-5' is negative"),
    ("£20", "'£20' is not a price"),
    ("20GBP", "'20GBP' is not a price"),
    ("2e3", "'2e3' is not a price"),
    ("1.1234567", "'1.1234567' has more than 6 decimal places"),
    ("1000000.01", "'1000000.01' is more than the largest price, 1000000"),
    (".5", "'.5' needs a digit before the decimal point"),
    ("", "'' is empty"),
    ("unlimited", "'unlimited' is not a price"),
])
def test_bad_amounts_are_refused_and_nothing_is_saved(instance, value, reason):
    before = instance.security_events("ext_changed")
    p = instance.cli("ext", "set", "1001", "--daily-cap", "7", "--monthly-cap", value,
                     check=False)
    assert p.returncode == 2, p.stderr
    assert f"ringfence: ext set: --monthly-cap {reason}" in p.stderr
    assert "give an amount in GBP such as 20 or 7.50, or 0 for the default, " \
           "[credit] ext_monthly_cap (200.00)" in p.stderr
    assert caps_in_db(instance, "1001") == (0, 0)
    assert instance.security_events("ext_changed") == before

    p = instance.cli("ext", "add", "1009", "--daily-cap", value, check=False)
    assert p.returncode == 2, p.stderr
    assert f"ringfence: ext add: --daily-cap {reason}" in p.stderr
    with db(instance) as c:
        assert c.execute("SELECT count(*) FROM extensions WHERE ext='1009'").fetchone() == (0,)


def test_a_monthly_cap_below_the_daily_one_is_refused(instance):
    p = instance.cli("ext", "set", "1001", "--daily-cap", "50", "--monthly-cap", "49.99",
                     check=False)
    assert p.returncode == 2
    assert ("ringfence: ext set: --monthly-cap 49.99 is below --daily-cap 50.00: the daily "
            "cap could never be reached") in p.stderr
    assert caps_in_db(instance, "1001") == (0, 0)


def test_caps_of_an_unknown_extension(instance):
    p = instance.cli("ext", "set", "4242", "--daily-cap", "5", check=False)
    assert p.returncode == 1
    assert "extension 4242 does not exist" in p.stderr


def test_help_documents_the_caps(instance):
    out = instance.cli("ext", "set", "--help").stdout
    assert "--daily-cap AMOUNT" in out and "--monthly-cap AMOUNT" in out
    assert "ext_daily_cap" in out
    out = instance.cli("trunk", "set", "--help").stdout
    assert "--daily-cap AMOUNT" in out and "trunk_daily_cap" in out
    out = instance.cli("spend", "--help").stdout
    assert "calls in progress" in out and "live_calls" in out
    assert "--json" in out


# ---- caps on trunks ----

def trunk_caps_in_db(inst, name):
    with db(inst) as c:
        return c.execute("SELECT daily_cap, monthly_cap FROM trunks WHERE name=?",
                         (name,)).fetchone()


def test_trunk_caps_are_set_shown_and_logged(instance):
    instance.cli("trunk", "add", "prepaid", "--host", "198.51.100.7", "--daily-cap", "30",
                 "--monthly-cap", "300.5")
    assert trunk_caps_in_db(instance, "prepaid") == (30 * MICRO, 300_500_000)
    d = json.loads(instance.cli("trunk", "show", "prepaid", "--json").stdout)
    assert (d["daily_cap"], d["daily_cap_micro"]) == ("30.00", 30 * MICRO)
    assert (d["monthly_cap"], d["monthly_cap_micro"]) == ("300.50", 300_500_000)

    instance.cli("trunk", "add", "voipco", "--host", "sip.voipco.example")
    d = json.loads(instance.cli("trunk", "show", "voipco", "--json").stdout)
    assert (d["daily_cap"], d["monthly_cap"]) == ("default", "default")

    out = instance.cli("trunk", "set", "voipco", "--monthly-cap", "500").stdout
    assert "trunk voipco changed" in out and "monthly_cap: 500.00\n" in out
    assert trunk_caps_in_db(instance, "voipco") == (0, 500 * MICRO)
    ev = instance.security_events("trunk_changed")
    assert ev[-1].endswith("SECURITY event=trunk_changed trunk=voipco change=monthly_cap by=cli")
    instance.cli("trunk", "set", "prepaid", "--daily-cap", "default", "--monthly-cap", "0")
    assert trunk_caps_in_db(instance, "prepaid") == (0, 0)
    assert instance.security_events("trunk_changed")[-1].endswith(
        "change=daily_cap,monthly_cap by=cli")


def test_trunk_cap_refusals_change_nothing(instance):
    instance.cli("trunk", "add", "prepaid", "--host", "198.51.100.7", "--daily-cap", "30")
    for args, status, message in [
        (["--daily-cap", "30,5"], 2, "--daily-cap '30,5' has a comma"),
        (["--monthly-cap", "-1"], 2, "--monthly-cap '-1' is negative; give an amount in GBP "
                                     "such as 20 or 7.50, or 0 for the default, [credit] "
                                     "trunk_monthly_cap (no cap)"),
        (["--daily-cap", "40", "--monthly-cap", "39"], 2,
         "--monthly-cap 39.00 is below --daily-cap 40.00"),
        ([], 2, "nothing to change: give --daily-cap, --monthly-cap or both"),
    ]:
        p = instance.cli("trunk", "set", "prepaid", *args, check=False)
        assert p.returncode == status, (args, p.stderr)
        assert f"ringfence: trunk set: {message}" in p.stderr, (args, p.stderr)
    p = instance.cli("trunk", "set", "nope", "--daily-cap", "5", check=False)
    assert p.returncode == 1 and "trunk nope does not exist" in p.stderr
    p = instance.cli("trunk", "add", "other", "--host", "198.51.100.8", "--daily-cap", "£5",
                     check=False)
    assert p.returncode == 2 and "--daily-cap '£5' is not a price" in p.stderr
    assert trunk_caps_in_db(instance, "prepaid") == (30 * MICRO, 0)
    assert trunk_caps_in_db(instance, "other") is None
    assert instance.security_events("trunk_changed") == []


# ---- [credit] keys ----

def test_credit_keys_in_check_config(instance):
    out = instance.cli("check-config").stdout
    for line in ("daily_cap = 100.00", "monthly_cap = 1000.00", "ext_daily_cap = 20.00",
                 "ext_monthly_cap = 200.00", "trunk_daily_cap = 0.00",
                 "trunk_monthly_cap = 0.00", "alert_thresholds = 50,80,100"):
        assert f"\n{line}\n" in out, line
    instance.set_conf("credit", "ext_daily_cap", "20,00")
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1
    assert "bad value for 'ext_daily_cap' in [credit]: '20,00' has a comma" in p.stderr
    instance.set_conf("credit", "ext_daily_cap", "5")
    instance.set_conf("credit", "alert_thresholds", "80,50")
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1
    assert ("bad value for 'alert_thresholds' in [credit]: '50' does not follow 80: list the "
            "percentages in ascending order, each once") in p.stderr


# ---- ringfence spend ----

def test_spend_of_a_new_instance(instance):
    rows = spend(instance)
    assert [(r["scope"], r["name"], r["period"]) for r in rows] == [
        ("system", "", "day"), ("system", "", "month"),
        ("ext", "1001", "day"), ("ext", "1001", "month"),
        ("ext", "1002", "day"), ("ext", "1002", "month"),
    ]
    for r in rows:
        assert (r["spent"], r["spent_micro"], r["percent"], r["reached"]) == ("0.00", 0, 0, False)
        assert r["currency"] == "GBP"
    assert row(rows, "system", "", "day")["cap"] == "100.00"
    assert row(rows, "system", "", "month")["cap_micro"] == 1000 * MICRO
    assert row(rows, "ext", "1001", "month")["cap"] == "200.00"
    out = instance.cli("spend", env=UTC).stdout
    assert out.splitlines()[0].split() == ["SCOPE", "NAME", "PERIOD", "DATE", "SPENT", "CAP",
                                            "USED"]
    assert "No call in progress is counted" in out
    assert all(r["live_calls"] == 0 for r in rows)


def test_spend_from_call_records(instance):
    now, day, month = periods_now()
    instance.cli("ext", "set", "1001", "--daily-cap", "5")
    instance.set_conf("credit", "trunk_daily_cap", "50")
    rows_in = [  # (caller, start, cost, trunk, direction)
        ("1001", now - 5, 2_500_000, "sip1", "outbound"),
        ("1001", day, 1_250_000, "sip1", "outbound"),
        ("1001", day - 1, 4_000_000, "sip1", "outbound"),     # yesterday
        ("1001", month, 100_000, "sip2", "outbound"),
        ("1001", month - 1, 99_000_000, "sip1", "outbound"),  # last month
        ("1002", now - 3, 300_000, "", "outbound"),
        ("1003", now - 2, 700_000, "sip2", "outbound"),       # since deleted, or never an extension
        ("1002", now - 4, 9_000_000, "sip1", "inbound"),      # not ours to pay
        ("1001", now - 4, 0, "sip1", "outbound"),             # free
        ("1002", now - 4, 0, "", "internal"),
    ]
    for caller, start, cost, trunk, direction in rows_in:
        add_cdr(instance, caller, start, cost, trunk, direction)

    def expect(who, since):
        return sum(cost for caller, start, cost, trunk, direction in rows_in
                   if direction == "outbound" and start >= since and who(caller, trunk))

    rows = spend(instance)
    anyone = lambda caller, trunk: True
    assert row(rows, "system", "", "day")["spent_micro"] == expect(anyone, day)
    assert row(rows, "system", "", "month")["spent_micro"] == expect(anyone, month)
    for ext in ("1001", "1002", "1003"):
        mine = lambda caller, trunk, ext=ext: caller == ext
        assert row(rows, "ext", ext, "day")["spent_micro"] == expect(mine, day), ext
        assert row(rows, "ext", ext, "month")["spent_micro"] == expect(mine, month), ext
    for trunk in ("sip1", "sip2"):
        over = lambda caller, t, trunk=trunk: t == trunk
        assert row(rows, "trunk", trunk, "day")["spent_micro"] == expect(over, day), trunk
        assert row(rows, "trunk", trunk, "month")["spent_micro"] == expect(over, month), trunk

    # 1001: its own daily cap of 5, the default monthly one of 200.
    d = row(rows, "ext", "1001", "day")
    spent = expect(lambda caller, trunk: caller == "1001", day)
    assert (d["cap"], d["cap_micro"]) == ("5.00", 5 * MICRO)
    assert d["percent"] == spent * 100 // (5 * MICRO)
    assert d["used"] == f"{d['percent']}%"
    assert d["reached"] is (spent >= 5 * MICRO)
    assert d["date"] == time.strftime("%Y-%m-%d", time.gmtime(now))
    assert d["since"] == time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(now))
    assert row(rows, "ext", "1001", "month")["cap"] == "200.00"
    assert row(rows, "ext", "1001", "month")["date"] == time.strftime("%Y-%m", time.gmtime(now))
    # Trunks: the configured default cap per day, none per month.
    assert row(rows, "trunk", "sip1", "day")["cap"] == "50.00"
    t = row(rows, "trunk", "sip1", "month")
    assert (t["cap"], t["cap_micro"], t["used"], t["percent"]) == ("none", 0, "-", 0)
    # Amounts are exact decimals.
    assert row(rows, "ext", "1002", "day")["spent"] == "0.30"
    # Order: the system, extensions by name, trunks by name.
    order = [(r["scope"], r["name"]) for r in rows]
    assert order == sorted(order, key=lambda k: (["system", "ext", "trunk"].index(k[0]), k[1]))

    text = instance.cli("spend", env=UTC).stdout
    line = next(l for l in text.splitlines() if l.split()[:3] == ["ext", "1001", "day"])
    assert line.split()[4:] == [d["spent"], "5.00", d["used"]]


def test_spend_lists_every_trunk_with_its_caps(instance):
    now, day, month = periods_now()
    instance.cli("trunk", "add", "prepaid", "--host", "198.51.100.7", "--daily-cap", "10")
    instance.cli("trunk", "add", "voipco", "--host", "sip.voipco.example")
    add_cdr(instance, "1001", now - 20, 4 * MICRO, trunk="prepaid")
    rows = spend(instance)
    d = row(rows, "trunk", "prepaid", "day")
    assert (d["spent_micro"], d["cap"], d["percent"]) == (4 * MICRO, "10.00", 40)
    assert row(rows, "trunk", "prepaid", "month")["cap"] == "none"
    v = row(rows, "trunk", "voipco", "day")
    assert (v["spent_micro"], v["cap"], v["used"]) == (0, "none", "-")
    instance.set_conf("credit", "trunk_daily_cap", "25")
    rows = spend(instance)
    assert row(rows, "trunk", "voipco", "day")["cap"] == "25.00"
    assert row(rows, "trunk", "prepaid", "day")["cap"] == "10.00"


def test_spend_at_and_over_a_cap(instance):
    now, day, month = periods_now()
    instance.cli("ext", "set", "1001", "--daily-cap", "2", "--monthly-cap", "2")
    instance.cli("ext", "set", "1002", "--daily-cap", "1")
    add_cdr(instance, "1001", now - 10, 2 * MICRO)
    add_cdr(instance, "1002", now - 10, 3 * MICRO)
    rows = spend(instance)
    d = row(rows, "ext", "1001", "day")
    assert (d["spent"], d["percent"], d["used"], d["reached"]) == ("2.00", 100, "100%", True)
    d = row(rows, "ext", "1002", "day")
    assert (d["percent"], d["reached"]) == (300, True)
    assert row(rows, "ext", "1002", "month")["reached"] is False


def test_spend_follows_the_local_day(instance):
    """Days are the local calendar's: a call half an hour before UTC
    midnight is the next day's an hour east of UTC (or, late in the UTC
    day, a call just after it is the previous day's an hour west)."""
    now, day, month = periods_now()
    if now - day < 23 * 3600:
        tz, local_day, start = "XXX-1", day - 3600, day - 1800
    else:
        tz, local_day, start = "XXX+1", day + 3600, day + 1800
    add_cdr(instance, "1001", start, 4 * MICRO)
    in_utc = row(spend(instance), "ext", "1001", "day")
    assert in_utc["spent_micro"] == (4 * MICRO if start >= day else 0)

    local = json.loads(instance.cli("spend", "--json", env={"TZ": tz}).stdout)
    d = row(local, "ext", "1001", "day")
    assert d["since"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(local_day))
    assert d["spent_micro"] == (4 * MICRO if start >= local_day else 0)
    assert d["spent_micro"] != in_utc["spent_micro"]


def test_spend_counts_calls_in_progress(instance):
    now, day, month = periods_now()
    add_cdr(instance, "1001", now - 300, 2 * MICRO)
    answered_s = now - 600
    # 1001: answered ten minutes ago, 0.10 to connect and 0.60 a minute,
    # so 0.01 a second. 1002: ringing, its connection charge of 0.05.
    put_live_calls(instance, [
        ("a@live", "1001", "sip1", (answered_s - 20) * 1000, answered_s * 1000 + 400,
         100_000, 600_000),
        ("b@live", "1002", "sip1", (now - 3) * 1000, 0, 50_000, 6 * MICRO),
    ], int(time.time() * 1000))
    before = int(time.time())
    rows = spend(instance)
    after = int(time.time())

    # The running cost at whichever second the command read the clock.
    possible = {100_000 + 10_000 * (t - answered_s) for t in range(before, after + 1)}
    live_1001 = row(rows, "ext", "1001", "day")["spent_micro"] - 2 * MICRO
    assert live_1001 in possible, (live_1001, possible)
    assert row(rows, "ext", "1002", "day")["spent_micro"] == 50_000
    total = 2 * MICRO + live_1001 + 50_000
    assert row(rows, "system", "", "day")["spent_micro"] == total
    assert row(rows, "system", "", "month")["spent_micro"] == total
    assert row(rows, "trunk", "sip1", "day")["spent_micro"] == total
    assert all(r["live_calls"] == 2 for r in rows)

    out = instance.cli("spend", env=UTC).stdout
    assert "2 calls in progress counted" in out


def test_spend_ignores_a_stale_live_set(instance):
    now, day, month = periods_now()
    add_cdr(instance, "1001", now - 300, 2 * MICRO)
    # Written a minute ago and never since: a daemon that died with a call.
    put_live_calls(instance, [
        ("a@live", "1001", "sip1", (now - 600) * 1000, (now - 590) * 1000, MICRO, 6 * MICRO),
    ], int(time.time() * 1000) - 60_000)
    rows = spend(instance)
    assert row(rows, "ext", "1001", "day")["spent_micro"] == 2 * MICRO
    assert row(rows, "system", "", "day")["spent_micro"] == 2 * MICRO
    assert all(r["live_calls"] == 0 for r in rows)
    out = instance.cli("spend", env=UTC).stdout
    assert "No call in progress is counted" in out
