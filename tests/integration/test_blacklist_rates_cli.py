"""ringfence blacklist and rates: every spelling of a number is one entry,
every bad line of an import is named and nothing of it is saved, --replace
replaces, prices are exact, and large imports are fast."""
import json
import os
import re
import sqlite3
import time


def write(inst, name, text):
    path = os.path.join(inst.dir, "..", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def blacklist(inst, *extra):
    return json.loads(inst.cli("blacklist", "list", "--json", *extra).stdout)


def prefixes(inst, *extra):
    return [e["prefix"] for e in blacklist(inst, *extra)]


def rates(inst):
    return json.loads(inst.cli("rates", "list", "--json").stdout)


def db(inst):
    return sqlite3.connect(os.path.join(inst.dir, "ringfence.db"))


# ---- blacklist add, del, list ----

def test_every_spelling_is_one_entry(instance):
    out = instance.cli("blacklist", "add", "+972", "--reason", "no business there").stdout
    assert "+972 added to the destination blacklist" in out
    for spelling in ("00972", "+972", "00 972", "+(972)"):
        out = instance.cli("blacklist", "add", spelling, "--reason", "again").stdout
        assert "+972 was on the destination blacklist already" in out, (spelling, out)
    assert prefixes(instance) == ["+972"]
    assert blacklist(instance)[0]["reason"] == "again"
    # Without --reason an entry keeps the one it has.
    out = instance.cli("blacklist", "add", "00972").stdout
    assert "+972 was on the destination blacklist already\n" in out
    assert blacklist(instance)[0]["reason"] == "again"

    # A bare country code could be the start of a national number.
    p = instance.cli("blacklist", "add", "972", check=False)
    assert p.returncode == 2, p.stderr
    assert "'972' is not a number or prefix" in p.stderr
    assert "+972 or 00972" in p.stderr
    assert prefixes(instance) == ["+972"]

    for spelling in ("0909", "+44909", "0044909", "+44 909"):
        instance.cli("blacklist", "add", spelling)
    assert prefixes(instance) == ["+44909", "+972"]
    instance.cli("blacklist", "del", "0044 909")
    assert prefixes(instance) == ["+972"]


def test_add_del_list_and_errors(instance):
    p = instance.cli("blacklist", "list")
    assert "the destination blacklist is empty" in p.stdout
    assert blacklist(instance) == []

    instance.cli("blacklist", "add", "0909", "--reason", "premium rate")
    out = instance.cli("blacklist", "add", "09098790000", "--reason", "one number").stdout
    assert "+449098790000 added to the destination blacklist\n" \
           "note: +44909 on the list covers +449098790000 already" in out
    entries = blacklist(instance)
    assert [e["prefix"] for e in entries] == ["+44909", "+449098790000"]
    assert entries[0]["country"] == "GB"
    assert entries[0]["reason"] == "premium rate"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", entries[0]["created"])
    table = instance.cli("blacklist", "list").stdout
    assert re.search(r"^PREFIX\s+COUNTRY\s+REASON\s+ADDED", table, re.M)
    assert re.search(r"^\+44909\s+GB\s+premium rate\s+\d{4}-", table, re.M)

    # del takes that one entry, not the longer or shorter ones.
    instance.cli("blacklist", "del", "0909")
    assert prefixes(instance) == ["+449098790000"]
    p = instance.cli("blacklist", "del", "0909", check=False)
    assert p.returncode == 1
    assert "+44909 is not on the destination blacklist" in p.stderr

    for bad, why in [("09O9", "not a number or prefix"), ("", "the number is empty"),
                     ("0" * 40, "too long")]:
        for cmd in (["blacklist", "add"], ["blacklist", "del"], ["rates", "del"]):
            p = instance.cli(*cmd, bad, check=False)
            assert p.returncode == 2 and why in p.stderr, (cmd, bad, p.stderr)
    p = instance.cli("blacklist", "add", check=False)
    assert p.returncode == 2 and "missing argument NUMBER" in p.stderr
    assert prefixes(instance) == ["+449098790000"]


def test_reason_checked_and_escaped(instance):
    p = instance.cli("blacklist", "add", "0909", "--reason", "bell\x07", check=False)
    assert p.returncode == 2 and "control character (byte 0x07)" in p.stderr
    p = instance.cli("blacklist", "add", "0909", "--reason", "x" * 201, check=False)
    assert p.returncode == 2 and "longer than 200 characters" in p.stderr
    instance.cli("blacklist", "add", "0909", "--reason", "r" * 200)
    instance.cli("blacklist", "add", "+1876", "--reason", "Jamaïca \"quoted\", 'single'")
    assert blacklist(instance)[0]["reason"] == "Jamaïca \"quoted\", 'single'"
    # A row written behind the CLI's back still cannot drive a terminal.
    with db(instance) as c:
        c.execute("INSERT INTO blacklist VALUES ('dest', '+882', ?, 1)", ("\x1b[31mred\nline",))
    table = instance.cli("blacklist", "list").stdout
    assert "\x1b" not in table and "\\x1b[31mred\\x0aline" in table
    raw = instance.cli("blacklist", "list", "--json").stdout
    assert "\\u001b[31mred\\nline" in raw


def test_caller_list_is_its_own(instance):
    instance.cli("blacklist", "add", "01632960666", "--caller", "--reason", "nuisance")
    instance.cli("blacklist", "add", "0909")
    assert prefixes(instance, "--caller") == ["+441632960666"]
    assert prefixes(instance) == ["+44909"]
    p = instance.cli("blacklist", "del", "0909", "--caller", check=False)
    assert p.returncode == 1 and "not on the caller blacklist" in p.stderr
    instance.cli("blacklist", "del", "01632 960666", "--caller")
    assert prefixes(instance, "--caller") == []
    assert prefixes(instance) == ["+44909"]


def test_changes_are_security_events(instance):
    instance.cli("blacklist", "add", "0909", "--reason", "premium")
    instance.cli("blacklist", "del", "0909")
    path = write(instance, "r.csv", "+44,0.01,0,GBP\n")
    instance.cli("rates", "import", path)
    instance.cli("rates", "del", "+44")
    path = write(instance, "b.csv", "0909,x\n0908,y\n")
    instance.cli("blacklist", "import", path, "--caller", "--replace")
    added = instance.security_events("blacklist_added")
    assert len(added) == 1 and "dir=dest prefix=+44909 reason=\"premium\" by=cli" in added[0]
    assert "prefix=+44909" in instance.security_events("blacklist_removed")[0]
    assert "entries=1 mode=merge" in instance.security_events("rates_imported")[0]
    assert "prefix=+44" in instance.security_events("rate_removed")[0]
    assert "dir=caller entries=2 mode=replace" in instance.security_events("blacklist_imported")[0]


# ---- blacklist import ----

def test_import_merges_then_replaces(instance):
    instance.cli("blacklist", "add", "+1876", "--reason", "kept")
    instance.cli("blacklist", "add", "0909", "--reason", "old reason")
    path = write(instance, "fraud.csv", "# known fraud destinations\n"
                 "number,reason\n"
                 "0909, premium rate \n"
                 "+8816,\"Satellite, Iridium\"\n"
                 "\n"
                 "00 372 5\r\n")
    out = instance.cli("blacklist", "import", path).stdout
    assert "3 entries imported" in out and "1 new" not in out
    assert "2 new, 1 updated; it holds 4" in out, out
    entries = {e["prefix"]: e["reason"] for e in blacklist(instance)}
    assert entries == {"+1876": "kept", "+44909": "premium rate",
                       "+8816": "Satellite, Iridium", "+3725": ""}

    path = write(instance, "only.csv", "+44909,only this\n")
    out = instance.cli("blacklist", "import", path, "--replace").stdout
    assert "the destination blacklist now holds the 1 entries of" in out
    assert "(it held 4)" in out
    assert {e["prefix"]: e["reason"] for e in blacklist(instance)} == {"+44909": "only this"}


def test_import_with_errors_names_every_line_and_changes_nothing(instance):
    instance.cli("blacklist", "add", "0909", "--reason", "before")
    instance.cli("blacklist", "add", "01632960666", "--caller")
    before = (blacklist(instance), blacklist(instance, "--caller"))
    path = write(instance, "bad.csv", "number,reason\n"
                 "0908,fine\n"
                 "09x8,letters\n"
                 "+8816,fine\n"
                 "+8817,fine\n"
                 "+8818,fine\n"
                 "972,bare\n"
                 "+8819,fine\n")
    for extra in ([], ["--replace"], ["--caller", "--replace"]):
        p = instance.cli("blacklist", "import", path, *extra, check=False)
        assert p.returncode == 1, p.stderr
        assert "2 bad lines in" in p.stderr and "nothing was imported" in p.stderr
        assert re.search(r"bad\.csv:3: '09x8' is not a number or prefix", p.stderr)
        assert re.search(r"bad\.csv:7: '972' is not a number or prefix", p.stderr)
        assert not re.search(r"bad\.csv:[124568]:", p.stderr)
        assert (blacklist(instance), blacklist(instance, "--caller")) == before
    assert instance.security_events("blacklist_imported") == []


def test_import_duplicates_and_broken_lines(instance):
    path = write(instance, "dup.csv", "0909,a\n"
                 "+44 909,b\n"
                 "+972,c\n"
                 "0044909,d\n"
                 "0800,\"unterminated\n"
                 "0801,one,two\n"
                 "0871,bell\x07\n"
                 ",empty number\n"
                 "0844," + "x" * 201 + "\n")
    p = instance.cli("blacklist", "import", path, check=False)
    assert p.returncode == 1
    err = p.stderr
    assert "7 bad lines" in err, err
    assert "dup.csv:2: '+44 909' is +44909, which line 1 lists already" in err
    assert "dup.csv:4: '0044909' is +44909, which line 1 lists already" in err
    assert "dup.csv:5: unterminated quoted field" in err
    assert "dup.csv:6: too many fields: the columns are number,reason" in err
    assert "dup.csv:7: the reason has a control character" in err
    assert "dup.csv:8: the number is empty" in err
    assert "dup.csv:9: the reason is longer than 200 characters" in err
    assert "\x07" not in err
    assert blacklist(instance) == []


def test_import_refuses_empty_and_missing_files(instance):
    instance.cli("blacklist", "add", "0909")
    path = write(instance, "empty.csv", "number,reason\n# nothing yet\n\n")
    for extra in ([], ["--replace"]):
        p = instance.cli("blacklist", "import", path, *extra, check=False)
        assert p.returncode == 1 and "has no entries to import" in p.stderr
    p = instance.cli("blacklist", "import", "/nonexistent/x.csv", check=False)
    assert p.returncode == 1 and "cannot open /nonexistent/x.csv" in p.stderr
    p = instance.cli("blacklist", "import", check=False)
    assert p.returncode == 2
    path = write(instance, "nul.csv", "0908,a\n09\x0007,b\n")
    p = instance.cli("blacklist", "import", path, check=False)
    assert p.returncode == 1 and "nul.csv:2: NUL byte" in p.stderr
    assert prefixes(instance) == ["+44909"]


def test_import_from_standard_input(instance):
    out = instance.cli("blacklist", "import", "-", input="0909,premium\n+8816,satellite\n").stdout
    assert "2 entries imported from -" in out
    assert prefixes(instance) == ["+44909", "+8816"]


def test_100000_line_import_and_the_cap(instance):
    lines = [f"+49{i:06d},fraud range {i}" for i in range(100000)]
    path = write(instance, "big.csv", "number,reason\n" + "\n".join(lines) + "\n")
    start = time.monotonic()
    p = instance.cli("blacklist", "import", path)
    took = time.monotonic() - start
    assert "100000 entries imported" in p.stdout
    assert took < 20, f"100,000 lines took {took:.1f} s"
    assert "\r" not in p.stderr, "progress is for terminals only"
    with db(instance) as c:
        assert c.execute("SELECT count(*) FROM blacklist WHERE direction = 'dest'").fetchone()[0] == 100000
    # The list is full: one more is refused, and so is a merge that grows it.
    p = instance.cli("blacklist", "add", "0909", check=False)
    assert p.returncode == 1 and "is full" in p.stderr
    path = write(instance, "more.csv", "0909,one more\n")
    p = instance.cli("blacklist", "import", path, check=False)
    assert p.returncode == 1 and "would hold 100001 entries" in p.stderr
    # Replacing is what shrinks it.
    instance.cli("blacklist", "import", path, "--replace")
    assert prefixes(instance) == ["+44909"]
    # A file with more entries than a list holds is refused whole.
    path = write(instance, "huge.csv", "\n".join(lines + ["+33,one too many"]) + "\n")
    p = instance.cli("blacklist", "import", path, "--replace", check=False)
    assert p.returncode == 1
    assert "huge.csv:100001: more than 100000 entries in the file" in p.stderr
    assert prefixes(instance) == ["+44909"]


# ---- rates ----

RATES = ("prefix,price_per_minute,connection_charge,currency\n"
         "+44,0.0100,0,GBP\n"
         "07,0.05,0,gbp\n"
         "0909,1.53,0.50,GBP\n"
         "00 972,0.08,0.015,GBP\n")


def test_rates_import_list_lookup_del(instance):
    path = write(instance, "rates.csv", RATES)
    out = instance.cli("rates", "import", path).stdout
    assert "4 rates imported" in out and "4 new, 0 updated" in out
    table = {r["prefix"]: r for r in rates(instance)}
    assert list(table) == ["+44", "+447", "+44909", "+972"]
    assert table["+44909"]["per_minute_micro"] == 1530000
    assert table["+44909"]["per_minute"] == "1.53"
    assert table["+44909"]["connection_micro"] == 500000
    assert table["+972"]["connection"] == "0.015"
    assert table["+972"]["country"] == "IL"
    assert table["+447"]["currency"] == "GBP"
    text = instance.cli("rates", "list").stdout
    assert re.search(r"^PREFIX\s+COUNTRY\s+PER MINUTE\s+CONNECTION\s+CURRENCY", text, re.M)
    assert re.search(r"^\+44909\s+GB\s+1\.53\s+0\.50\s+GBP", text, re.M)

    # Longest prefix, and the cost rounded up to the micro-unit.
    look = json.loads(instance.cli("rates", "lookup", "0909 879 0000", "--json").stdout)
    assert look["e164"] == "+449098790000" and look["class"] == "premium"
    assert look["prefix"] == "+44909" and look["rated"] is True
    assert look["cost_micro"] == 1530000 + 500000 and look["duration_s"] == 60
    look = json.loads(instance.cli("rates", "lookup", "00972501234567", "--duration", "61s",
                                   "--json").stdout)
    assert look["prefix"] == "+972" and look["country"] == "IL"
    assert look["cost_micro"] == 15000 + 81334  # 80000 * 61 / 60 = 81333.3 -> 81334
    out = instance.cli("rates", "lookup", "+447700900123").stdout
    assert "prefix: +447" in out and "per_minute: 0.05" in out
    out = instance.cli("rates", "lookup", "+12125550100").stdout
    assert "rated: no" in out and "no rate matches +12125550100" in out
    p = instance.cli("rates", "lookup", "0909ABC", check=False)
    assert p.returncode == 2 and "'0909ABC' is not a number this plan can dial" in p.stderr
    p = instance.cli("rates", "lookup", "0909", "--duration", "90", check=False)
    assert p.returncode == 2 and "--duration" in p.stderr

    out = instance.cli("rates", "del", "0909").stdout
    assert "rate for +44909 deleted" in out
    look = json.loads(instance.cli("rates", "lookup", "09098790000", "--json").stdout)
    assert look["prefix"] == "+44"
    p = instance.cli("rates", "del", "+44909", check=False)
    assert p.returncode == 1 and "no rate for +44909" in p.stderr


def test_rates_import_bad_lines_saves_nothing(instance):
    instance.cli("rates", "import", write(instance, "ok.csv", RATES))
    before = rates(instance)
    path = write(instance, "bad.csv", "+45,0.01,0,GBP\n"
                 "+46,-0.01,0,GBP\n"
                 "+47,0.1234567,0,GBP\n"
                 "+48,1e-3,0,GBP\n"
                 "+49,\"0,05\",0,GBP\n"
                 "+50,0.01,0,EUR\n"
                 "+51,0.01,0\n"
                 "+52,2000000,0,GBP\n"
                 "+53,0.01,.5,GBP\n"
                 "+54,0.01,0,EURO\n"
                 "+45,0.02,0,GBP\n"
                 "55,0.01,0,GBP\n"
                 "+56,0.01,0,GBP,extra\n")
    p = instance.cli("rates", "import", path, "--replace", check=False)
    assert p.returncode == 1
    err = p.stderr
    expected = [(2, "price_per_minute '-0.01' is negative"),
                (3, "price_per_minute '0.1234567' has more than 6 decimal places"),
                (4, "price_per_minute '1e-3' is not a price"),
                (5, "price_per_minute '0,05' has a comma"),
                (6, "currency EUR is not GBP, the [credit] currency"),
                (7, "missing the currency field"),
                (8, "price_per_minute '2000000' is more than the largest price, 1000000"),
                (9, "connection_charge '.5' needs a digit before the decimal point"),
                (10, "currency 'EURO' is not an ISO 4217 code"),
                (11, "'+45' is +45, which line 1 lists already"),
                (12, "'55' is not a number or prefix"),
                (13, "too many fields")]
    assert f"{len(expected)} bad lines" in err, err
    for line, reason in expected:
        assert f"bad.csv:{line}: {reason}" in err, (line, err)
    assert "bad.csv:1:" not in err
    assert rates(instance) == before


def test_rates_replace_and_currency(instance):
    instance.cli("rates", "import", write(instance, "ok.csv", RATES))
    path = write(instance, "new.csv", "+44,0.02,0.001,GBP\n+1,0.01,0,GBP\n")
    out = instance.cli("rates", "import", path).stdout
    assert "2 rates imported" in out and "1 new, 1 updated; it holds 5" in out
    assert rates(instance)[1]["prefix"] == "+44" and rates(instance)[1]["per_minute_micro"] == 20000
    out = instance.cli("rates", "import", path, "--replace").stdout
    assert "the rate table now holds the 2 rates of" in out and "(it held 5)" in out
    assert [r["prefix"] for r in rates(instance)] == ["+1", "+44"]

    # Rates follow [credit] currency; those in another are shown but not used.
    instance.set_conf("credit", "currency", "EUR")
    p = instance.cli("rates", "import", path, check=False)
    assert p.returncode == 1 and "currency GBP is not EUR" in p.stderr
    out = instance.cli("rates", "list").stdout
    assert "note: 2 rates are in another currency than [credit] currency EUR" in out
    out = instance.cli("rates", "lookup", "+441632960000").stdout
    assert "rated: no" in out and "2 rates are skipped" in out
    path = write(instance, "eur.csv", "+33,0.02,0,eur\n")
    instance.cli("rates", "import", path)
    look = json.loads(instance.cli("rates", "lookup", "+33123456789", "--json").stdout)
    assert look["currency"] == "EUR" and look["cost_micro"] == 20000


def test_100000_rates_import(instance):
    lines = [f"+1{i:06d},0.{i % 10000:04d},0.01,GBP" for i in range(100000)]
    path = write(instance, "deck.csv", "\n".join(lines) + "\n")
    start = time.monotonic()
    out = instance.cli("rates", "import", path).stdout
    took = time.monotonic() - start
    assert "100000 rates imported" in out
    assert took < 20, f"100,000 lines took {took:.1f} s"
    look = json.loads(instance.cli("rates", "lookup", "+10123456789", "--json").stdout)
    assert look["prefix"] == "+1012345" and look["per_minute_micro"] == 234500
    start = time.monotonic()
    out = instance.cli("rates", "import", path, "--replace").stdout
    assert "now holds the 100000 rates" in out
    assert time.monotonic() - start < 20


# ---- help ----

def test_help_pages(instance):
    for cmd in (["blacklist", "add"], ["blacklist", "del"], ["blacklist", "list"],
                ["blacklist", "import"], ["rates", "import"], ["rates", "list"],
                ["rates", "del"], ["rates", "lookup"]):
        out = instance.cli(*cmd, "--help").stdout
        for part in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS"):
            assert part in out, (cmd, part)
    out = instance.cli("blacklist", "--help").stdout
    for sub in ("add", "del", "list", "import"):
        assert f"blacklist {sub}" in out
    p = instance.cli("rates", "lokup", check=False)
    assert p.returncode == 2 and "did you mean 'rates lookup'" in p.stderr
