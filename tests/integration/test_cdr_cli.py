"""`ringfence cdr list` and `ringfence cdr export --csv` on a real instance.

Without calls the outputs are empty but well-formed. The records themselves
are written by the daemon when a call ends; the call tests check that
content end to end. Here rows are inserted straight into the instance
database, exactly as the daemon's store_cdr_add writes them, to pin down
the formatting: table, JSON, CSV quoting and formula defusing.
"""
import csv
import io
import json
import os
import subprocess
import sys
import time

import pytest

AS_ROOT = os.geteuid() == 0

CSV_HEADER = ["id", "start", "start_ms", "answer", "answer_ms", "end", "end_ms",
              "duration_s", "caller", "callee", "call_id", "result", "hangup",
              "packets_a", "bytes_a", "packets_b", "bytes_b", "dropped_foreign",
              "lost", "srtp", "srtp_a", "srtp_b", "direction", "e164", "class", "trunk",
              "cost"]

# 2026-11-26T15:04:05.123Z
T0 = 1795705445123
BIG = 2**53 + 1  # not exact as a double: must come out as the same integer


def insert_cdrs(inst, rows):
    """Simulate what the B2BUA writes at the end of each call: insert rows
    into the cdr table as the user that owns the database, like the daemon
    (as root a file created by us would lock the service user out)."""
    db = os.path.join(inst.dir, "ringfence.db")
    st = os.stat(db)
    code = ("import sqlite3, sys, json\n"
            "con = sqlite3.connect(sys.argv[1])\n"
            "rows = json.loads(sys.argv[2])\n"
            "cols = list(rows[0])\n"
            "sql = 'INSERT INTO cdr (%s) VALUES (%s)' % (', '.join(cols), ', '.join('?' * len(cols)))\n"
            "con.executemany(sql, [[r[c] for c in cols] for r in rows])\n"
            "con.commit()\n")
    kw = {"user": st.st_uid, "group": st.st_gid} if AS_ROOT else {}
    subprocess.run([sys.executable, "-c", code, db, json.dumps(rows)], check=True, **kw)


def cdr(caller, callee, start_ms, **kw):
    row = dict(caller=caller, callee=callee, call_id=f"{start_ms}@phone", start_ms=start_ms,
               answer_ms=0, end_ms=start_ms + 4000, duration_s=0, result=486,
               hangup="callee", packets_a=0, bytes_a=0, packets_b=0, bytes_b=0,
               dropped_foreign=0, lost=0, srtp=0, srtp_a=0, srtp_b=0,
               direction="internal", e164="", trunk="", cost=0, **{"class": ""})
    row.update(kw)
    return row


ANSWERED = cdr("1001", "1002", T0, call_id="a84b4c76e66710@pc33", answer_ms=T0 + 2877,
               end_ms=T0 + 67877, duration_s=65, result=200, hangup="caller",
               packets_a=3250, bytes_a=559000, packets_b=3248, bytes_b=558656,
               dropped_foreign=7, lost=2, srtp=1, srtp_a=1, srtp_b=1)
# Callee and Call-ID come from the network: a formula, a quote, a comma,
# a line break and an escape sequence must all come out harmless.
HOSTILE = cdr("1002", '=HYPERLINK("http://evil","x")', T0 + 60000,
              call_id='q"u,o\nte\x1b[2J@evil', result=404, hangup="")
PLUS = cdr("1001", "+442071234567", T0 + 120000, result=487, hangup="cancel",
           packets_a=BIG, bytes_a=2**63 - 1, direction="outbound", e164="+442071234567",
           **{"class": "geographic"}, trunk="gamma", cost=12300)


@pytest.fixture
def with_cdrs(instance):
    insert_cdrs(instance, [ANSWERED, HOSTILE, PLUS])
    return instance


def parse_csv(text):
    assert text.endswith("\n")
    return list(csv.reader(io.StringIO(text, newline="")))


# ---- without calls ----

def test_no_calls_list_shows_empty_table(instance):
    p = instance.cli("cdr", "list")
    lines = p.stdout.splitlines()
    assert lines[0].split()[:2] == ["START", "(UTC)"]
    for title in ("CALLER", "CALLEE", "RESULT", "DURATION", "HANGUP", "PACKETS", "SRTP",
                  "SRTP-A", "SRTP-B"):
        assert title in lines[0]
    assert lines[1:] == ["no call records"]
    assert p.stderr == ""


def test_no_calls_since_names_the_time(instance):
    p = instance.cli("cdr", "list", "--since", "2026-11-26T15:04:05Z")
    assert p.stdout.splitlines()[1:] == ["no call records since 2026-11-26T15:04:05.000Z"]


def test_no_calls_json_is_empty_array(instance):
    p = instance.cli("cdr", "list", "--json")
    assert json.loads(p.stdout) == []
    p = instance.cli("cdr", "list", "--json", "--since", "7d", "--limit", "5")
    assert json.loads(p.stdout) == []


def test_no_calls_csv_is_header_only(instance):
    p = instance.cli("cdr", "export", "--csv")
    assert p.stdout == ",".join(CSV_HEADER) + "\n"
    assert parse_csv(p.stdout) == [CSV_HEADER]


# ---- bad arguments ----

@pytest.mark.parametrize("value,reason", [
    ("", "empty value"),
    ("yesterday", "'yesterday' is not a date, time or age"),
    ("90", "'90' has no unit"),
    ("5y", "'5y' has an unknown unit"),
    ("-15m", "is negative"),
    ("100000d", "more than 100 years"),
    ("2026-13-01", "no such month"),
    ("2026-02-29", "no such day"),
    ("2026-11-26T15:04:05", "has no time zone"),
    ("2026-11-26 15:04:05Z", "has a space"),
    ("2026-11-26T25:00Z", "out of range"),
    ("2026-11-26T15:04:05Zjunk", "junk at the end"),
])
@pytest.mark.parametrize("command", [["cdr", "list"], ["cdr", "export", "--csv"]])
def test_bad_since_is_a_usage_error(instance, command, value, reason):
    p = instance.cli(*command, "--since", value, check=False)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"ringfence: {' '.join(command[:2])}: --since: ")
    assert reason in first
    assert f"Try 'ringfence {' '.join(command[:2])} --help'." in p.stderr


def test_bad_since_value_is_shown_escaped(instance):
    p = instance.cli("cdr", "list", "--since", "7\x1b[2Jd", check=False)
    assert p.returncode == 2
    assert "\x1b" not in p.stderr
    assert "'7?[2Jd'" in p.stderr


@pytest.mark.parametrize("value", ["0", "-1", "abc", "10x", "1000001", "99999999999999999999"])
def test_bad_limit_is_a_usage_error(instance, value):
    p = instance.cli("cdr", "list", "--limit", value, check=False)
    assert p.returncode == 2
    assert "--limit:" in p.stderr and "from 1 to 1000000" in p.stderr
    assert p.stdout == ""


def test_export_needs_a_format(instance):
    p = instance.cli("cdr", "export", check=False)
    assert p.returncode == 2
    assert "--csv" in p.stderr
    p = instance.cli("cdr", "export", "--csv", "--json", check=False)
    assert p.returncode == 2
    assert "unknown option '--json'" in p.stderr


def test_unknown_cdr_command_suggests(instance):
    p = instance.cli("cdr", "lst", check=False)
    assert p.returncode == 2
    assert "did you mean 'cdr list'?" in p.stderr


@pytest.mark.parametrize("command,options", [
    ("list", ["--since T", "--limit N", "--json"]),
    ("export", ["--csv", "--since T"]),
])
def test_help_is_a_manual(instance, command, options):
    p = instance.cli("cdr", command, "--help")
    out = p.stdout
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS"):
        assert f"\n{section}\n" in "\n" + out, section
    for opt in options:
        assert f"    {opt}" in out
    assert f"ringfence cdr {command}" in out
    group = instance.cli("cdr", "--help").stdout
    assert f"cdr {command}" in group


# ---- with records (as the B2BUA writes them) ----

def test_list_table(with_cdrs):
    p = with_cdrs.cli("cdr", "list")
    lines = p.stdout.splitlines()
    assert len(lines) == 4
    head = lines[0]
    assert head.index("CALLER") < head.index("CALLEE") < head.index("RESULT") < \
        head.index("DURATION") < head.index("HANGUP") < head.index("PACKETS") < head.index("SRTP")
    assert lines[1].split() == ["2026-11-26T15:04:05.123Z", "1001", "1002", "200",
                                "0:01:05", "caller", "6498", "yes", "yes", "yes"]
    # Oldest first; network values are escaped, an empty hangup shows '-'.
    assert lines[2].split() == ["2026-11-26T15:05:05.123Z", "1002",
                                '=HYPERLINK("http://evil","x")', "404", "0:00:00", "-",
                                "0", "no", "no", "no"]
    assert lines[3].split() == ["2026-11-26T15:06:05.123Z", "1001", "+442071234567", "487",
                                "0:00:00", "cancel", str(BIG), "no", "no", "no"]
    assert "\x1b" not in p.stdout


def test_list_json_has_every_field(with_cdrs):
    rows = json.loads(with_cdrs.cli("cdr", "list", "--json").stdout)
    assert [r["callee"] for r in rows] == ["1002", HOSTILE["callee"], "+442071234567"]
    a = rows[0]
    assert a["id"] >= 1
    for key in ("caller", "callee", "call_id", "start_ms", "answer_ms", "end_ms",
                "duration_s", "result", "hangup", "packets_a", "bytes_a", "packets_b",
                "bytes_b", "dropped_foreign", "lost"):
        assert a[key] == ANSWERED[key], key
    assert a["srtp"] is True and a["srtp_a"] is True and a["srtp_b"] is True
    assert a["start"] == "2026-11-26T15:04:05.123Z"
    assert a["answer"] == "2026-11-26T15:04:08.000Z"
    assert a["end"] == "2026-11-26T15:05:13.000Z"
    assert a["duration"] == "0:01:05"
    assert a["packets"] == 3250 + 3248
    # Never answered: no answer time.
    assert rows[1]["answer"] == "" and rows[1]["answer_ms"] == 0
    assert rows[1]["srtp"] is False and rows[1]["srtp_a"] is False
    # JSON escapes the hostile Call-ID but keeps it whole.
    assert rows[1]["call_id"] == HOSTILE["call_id"]
    # Counters past 2^53 are exact JSON integers.
    assert rows[2]["packets_a"] == BIG
    assert rows[2]["bytes_a"] == 2**63 - 1


def test_list_since_and_limit(with_cdrs):
    rows = json.loads(with_cdrs.cli("cdr", "list", "--json", "--since",
                                    "2026-11-26T15:05:05.123Z").stdout)
    assert [r["start_ms"] for r in rows] == [T0 + 60000, T0 + 120000]
    # The same instant written with an offset.
    rows = json.loads(with_cdrs.cli("cdr", "list", "--json", "--since",
                                    "2026-11-26T16:05:05.124+01:00").stdout)
    assert [r["start_ms"] for r in rows] == [T0 + 120000]
    rows = json.loads(with_cdrs.cli("cdr", "list", "--json", "--limit", "2").stdout)
    assert [r["start_ms"] for r in rows] == [T0 + 60000, T0 + 120000]
    rows = json.loads(with_cdrs.cli("cdr", "list", "--json", "--since", "2026-11-27").stdout)
    assert rows == []


def test_relative_since_counts_back_from_now(instance):
    now = int(time.time() * 1000)
    insert_cdrs(instance, [cdr("1001", "1002", now - 3 * 86400 * 1000),
                           cdr("1001", "1003", now - 3600 * 1000)])
    rows = json.loads(instance.cli("cdr", "list", "--json", "--since", "2h").stdout)
    assert [r["callee"] for r in rows] == ["1003"]
    rows = json.loads(instance.cli("cdr", "list", "--json", "--since", "7d").stdout)
    assert [r["callee"] for r in rows] == ["1002", "1003"]
    rows = json.loads(instance.cli("cdr", "list", "--json", "--since", "90s").stdout)
    assert rows == []
    out = instance.cli("cdr", "export", "--csv", "--since", "24h").stdout
    assert [r[9] for r in parse_csv(out)[1:]] == ["1003"]


def test_export_csv(with_cdrs):
    out = with_cdrs.cli("cdr", "export", "--csv").stdout
    rows = parse_csv(out)
    assert rows[0] == CSV_HEADER
    assert len(rows) == 4
    rec = [dict(zip(CSV_HEADER, r)) for r in rows[1:]]
    a = rec[0]
    assert a["start"] == "2026-11-26T15:04:05.123Z" and a["start_ms"] == str(T0)
    assert a["answer"] == "2026-11-26T15:04:08.000Z" and a["answer_ms"] == str(T0 + 2877)
    assert a["end_ms"] == str(T0 + 67877) and a["duration_s"] == "65"
    assert (a["caller"], a["callee"], a["call_id"]) == ("1001", "1002", "a84b4c76e66710@pc33")
    assert (a["result"], a["hangup"], a["srtp"]) == ("200", "caller", "yes")
    assert (a["srtp_a"], a["srtp_b"]) == ("yes", "yes")
    assert [a[k] for k in ("packets_a", "bytes_a", "packets_b", "bytes_b",
                           "dropped_foreign", "lost")] == ["3250", "559000", "3248",
                                                           "558656", "7", "2"]
    assert rec[1]["answer"] == "" and rec[1]["srtp"] == "no"
    assert rec[2]["packets_a"] == str(BIG)
    # An outbound call's number, class, trunk and rated cost; a call
    # between extensions is internal and free.
    assert [rec[2][k] for k in ("direction", "e164", "class", "trunk", "cost")] == \
        ["outbound", "'+442071234567", "geographic", "gamma", "0.0123"]
    assert [rec[0][k] for k in ("direction", "e164", "class", "trunk", "cost")] == \
        ["internal", "", "", "", "0.00"]


def test_export_csv_defuses_formulas_and_quotes(with_cdrs):
    out = with_cdrs.cli("cdr", "export", "--csv").stdout
    # One physical line per record: the line break in the Call-ID is
    # escaped, so no reader can be tricked into a second record.
    assert len(out.splitlines()) == 4
    assert "\x1b" not in out
    rec = [dict(zip(CSV_HEADER, r)) for r in parse_csv(out)[1:]]
    # A leading quote makes spreadsheets show the value as text.
    assert rec[1]["callee"] == "'" + HOSTILE["callee"]
    assert rec[2]["callee"] == "'+442071234567"
    assert rec[0]["callee"] == "1002"
    # Quotes and commas survive the round trip through a CSV reader.
    assert rec[1]["call_id"] == 'q"u,o\\x0ate\\x1b[2J@evil'
    # On the wire: enclosed in quotes with quotes doubled.
    line = out.splitlines()[2]
    assert ',"\'=HYPERLINK(""http://evil"",""x"")",' in line
    assert ',"q""u,o\\x0ate\\x1b[2J@evil",' in line
