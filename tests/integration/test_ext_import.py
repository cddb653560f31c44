"""ringfence ext import: all or nothing, every bad line named, secrets shown once."""
import json
import os
import re
import sqlite3

from sipua import bindings_of, mkua  # noqa: F401  (fixture)


def write(inst, name, text):
    path = os.path.join(inst.dir, "..", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def extensions(inst):
    return {e["ext"] for e in json.loads(inst.cli("ext", "list", "--json").stdout)}


def test_import_adds_all_and_shows_generated_passwords_once(instance):
    path = write(instance, "ok.csv", "extension,password,name\n"
                 "2001,,Front desk\n"
                 '2002,"Gr33n,Tea!Pot9","Smith, J"\n'
                 "# a comment\n\n"
                 "2003,,\n")
    out = instance.cli("ext", "import", path).stdout
    generated = dict(re.findall(r"^(200[13])\s+(\S+)\s*$", out, re.M))
    assert set(generated) == {"2001", "2003"}, out
    assert "Gr33n,Tea!Pot9" not in out
    assert "3 extensions imported" in out
    assert {"2001", "2002", "2003"} <= extensions(instance)
    shown = json.loads(instance.cli("ext", "show", "2002", "--json").stdout)
    assert shown["name"] == "Smith, J"
    # Only digests are stored: no password, generated or given, is in the database.
    with open(os.path.join(instance.dir, "ringfence.db"), "rb") as f:
        db = f.read()
    for pw in list(generated.values()) + ["Gr33n,Tea!Pot9"]:
        assert pw.encode() not in db
    assert len(instance.security_events("ext_added")) == 2 + 3  # demo pair + import


def test_bad_file_imports_nothing_and_names_every_bad_line(instance):
    path = write(instance, "bad.csv", "2001,,A\n"
                 "2001,,B\n"
                 "1001,,C\n"
                 "abc def,,\n"
                 "2004,Password123!,\n"
                 '2005,"unterminated\n'
                 "2006,a,b,c,d,e,f,g,h,i,j\n"
                 "2007,Sh0rt!,\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1
    err = p.stderr
    assert "7 bad lines" in err and "nothing was imported" in err, err
    for line, reason in [(2, "listed twice"), (3, "already exists"), (4, "space"),
                         (5, "dictionary word"), (6, "unterminated quoted field"),
                         (7, "too many fields"), (8, "too short")]:
        assert re.search(rf"bad.csv:{line}: .*{reason}", err), (line, err)
    assert "Password123!" not in err and "Sh0rt!" not in err, "a password was echoed"
    assert extensions(instance) == {"1001", "1002"}


def test_nul_byte_and_missing_file_are_refused(instance):
    path = write(instance, "nul.csv", "2001,,A\n2002\0,,B\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1 and "nul.csv:2: NUL byte" in p.stderr, p.stderr
    p = instance.cli("ext", "import", "/nonexistent/x.csv", check=False)
    assert p.returncode == 1 and "cannot open /nonexistent/x.csv" in p.stderr
    p = instance.cli("ext", "import", check=False)
    assert p.returncode == 2
    assert extensions(instance) == {"1001", "1002"}


def test_imported_extension_registers_on_the_running_daemon(instance, mkua):
    pbx = instance.start()
    path = write(instance, "one.csv", "2001,Gr33n!Tea.Pot9,Desk\n")
    instance.cli("ext", "import", "-", input=open(path).read())
    # The daemon sees directory changes within a second.
    for _ in range(20):
        ua = mkua(pbx, "2001", password="Gr33n!Tea.Pot9")
        _, ok = ua.register()
        if ok.status == 200:
            break
        import time
        time.sleep(0.1)
    assert ok.status == 200, ok.raw
    assert bindings_of(pbx, "2001")


HEADER = "extension,password,name,srtp,cos,allow,countries,caller_id,daily_cap,monthly_cap\n"


def show(inst, ext):
    return json.loads(inst.cli("ext", "show", ext, "--json").stdout)


def test_policy_columns_are_stored_as_ext_add_would(instance):
    path = write(instance, "policy.csv", HEADER +
                 '2001,,Desk,required,international,"premium,directory","FR,DE",'
                 '01632 960006,5,50\n'
                 "2002,,Lobby,,internal\n"
                 "2003,,,,,,,,default,7.50\n"
                 "2004,,Plain\n")
    instance.cli("ext", "import", path)
    a = show(instance, "2001")
    assert (a["srtp"], a["cos"], a["allow"], a["countries"], a["caller_id"]) == \
        ("required", "international", "premium,directory", "FR,DE", "+441632960006"), a
    assert (a["daily_cap_micro"], a["monthly_cap_micro"]) == (5000000, 50000000), a
    assert show(instance, "2002")["cos"] == "internal"
    c = show(instance, "2003")
    assert (c["daily_cap"], c["monthly_cap_micro"]) == ("default", 7500000), c
    # Missing and empty columns are the defaults of ext add.
    instance.add_ext("2005")
    d, e = show(instance, "2004"), show(instance, "2005")
    for key in ("srtp", "cos", "allow", "countries", "caller_id", "daily_cap", "monthly_cap"):
        assert d[key] == e[key], key


# One bad value per policy column: the option of ext add that takes the
# same value, and the column's name in the import's message.
BAD_POLICY = [
    ("--cos", "cos", ",,,,bogus", "bogus"),
    ("--allow", "allow", ",,,,,nope", "nope"),
    ("--countries", "countries", ",,,,,,XX", "XX"),
    ("--caller-id", "caller_id", ",,,,,,,0909 123 4567", "0909 123 4567"),
    ("--daily-cap", "daily_cap", ",,,,,,,,1.2.3", "1.2.3"),
    ("--monthly-cap", "monthly_cap", ",,,,,,,,,-4", "-4"),
]


def test_bad_policy_columns_are_named_by_line_in_the_words_of_the_options(instance):
    lines = ["2001,,Good"] + [f"20{i + 10}{tail}" for i, (_, _, tail, _) in enumerate(BAD_POLICY)]
    lines.append("2020,,,,,,,,60,50")
    path = write(instance, "badpolicy.csv", HEADER + "\n".join(lines) + "\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1, p.stdout
    err = p.stderr
    assert f"{len(BAD_POLICY) + 1} bad lines in {path}; nothing was imported" in err, err
    for i, (opt, col, _, value) in enumerate(BAD_POLICY):
        q = instance.cli("ext", "add", "3000", opt, value, check=False)
        assert q.returncode == 2, q.stderr
        option_msg = q.stderr.splitlines()[0].split("ringfence: ext add: ", 1)[1]
        assert option_msg.startswith(f"{opt} '"), option_msg
        expected = f"badpolicy.csv:{i + 3}: {col}{option_msg[len(opt):]}"
        assert expected in err, (expected, err)
    q = instance.cli("ext", "add", "3000", "--daily-cap", "60", "--monthly-cap", "50", check=False)
    option_msg = q.stderr.splitlines()[0].split("ringfence: ext add: ", 1)[1]
    assert option_msg == ("--monthly-cap 50.00 is below --daily-cap 60.00: the daily cap "
                          "could never be reached"), option_msg
    assert (f"badpolicy.csv:{len(lines) + 1}: monthly_cap 50.00 is below daily_cap 60.00: "
            "the daily cap could never be reached") in err, err
    assert extensions(instance) == {"1001", "1002"}


def test_twenty_thousand_lines_import_with_duplicates_found_by_line(instance):
    n = 20000
    rows = [f"{300000 + i},,User {i},,international,premium,\"FR,DE\",01632960{i % 1000:03d},"
            f"{1 + i % 50},{100 + i % 50}" for i in range(n)]
    # Two repeats far apart: each is named with the line it repeats.
    bad = rows + [rows[17].replace("User 17", "again"), rows[n - 2]]
    path = write(instance, "dup.csv", HEADER + "\n".join(bad) + "\n")
    p = instance.cli("ext", "import", path, check=False, timeout=300)
    assert p.returncode == 1, p.stderr[-500:]
    assert "2 bad lines" in p.stderr, p.stderr
    assert f"dup.csv:{n + 2}: extension 300017 is listed twice (first on line 19)" in p.stderr
    assert (f"dup.csv:{n + 3}: extension {300000 + n - 2} is listed twice "
            f"(first on line {n})") in p.stderr
    assert extensions(instance) == {"1001", "1002"}
    path = write(instance, "big.csv", HEADER + "\n".join(rows) + "\n")
    p = instance.cli("ext", "import", path, timeout=300)
    assert f"{n} extensions imported" in p.stdout
    passwords = re.findall(r"^(3\d{5})\s+(\S+)\s*$", p.stdout, re.M)
    assert len(passwords) == n and len({pw for _, pw in passwords}) == n
    assert db_rows_count(instance) == n + 2
    last = show(instance, str(300000 + n - 1))
    assert (last["name"], last["cos"], last["countries"], last["caller_id"],
            last["daily_cap_micro"], last["monthly_cap_micro"]) == \
        (f"User {n - 1}", "international", "FR,DE", f"+441632960{(n - 1) % 1000:03d}",
         (1 + (n - 1) % 50) * 1000000, (100 + (n - 1) % 50) * 1000000), last


def db_rows_count(inst):
    con = sqlite3.connect(f"file:{os.path.join(inst.dir, 'ringfence.db')}?immutable=1", uri=True)
    try:
        return con.execute("SELECT count(*) FROM extensions").fetchone()[0]
    finally:
        con.close()
