"""The per-extension SRTP policy on the command line, and SRTP per leg in
the call detail records, on a real instance with the real binary.

`ext add --srtp`, `ext set`, `ext list`/`ext show`, the srtp column of
`ext import`, and srtp_a/srtp_b in `cdr list` and `cdr export --csv`,
including every refusal: its exit status, its message, and that nothing
was written. Also an instance database from before the policy existed is
migrated on first use: remote extensions become required.
"""
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from test_cdr_cli import AS_ROOT, T0, cdr, insert_cdrs, parse_csv

REMOTE_WHY = "a remote extension always requires SRTP"


def db_path(inst):
    return os.path.join(inst.dir, "ringfence.db")


def db_rows(inst, sql, params=()):
    """Read without creating files in the instance (see test_cli.db_rows)."""
    con = sqlite3.connect(f"file:{db_path(inst)}?immutable=1", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def policy(inst, ext):
    return json.loads(inst.cli("ext", "show", ext, "--json").stdout)["srtp"]


def policies(inst):
    return {e["ext"]: e["srtp"] for e in json.loads(inst.cli("ext", "list", "--json").stdout)}


def events(inst, event, ext):
    return [e for e in inst.security_events(event) if f'ext="{ext}"' in e]


def refused(p, status, *parts):
    """A refusal: the exit status, one error line naming the problem, no output."""
    assert p.returncode == status, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    first = p.stderr.splitlines()[0]
    for part in parts:
        assert part in first, (part, p.stderr)
    if status == 2:
        assert "Try 'ringfence ext " in p.stderr
    return first


# ---- ext add ----

def test_add_defaults_to_optional(instance):
    instance.add_ext("1003")
    assert policy(instance, "1003") == "optional"
    # The demo extensions of init are local, so optional too.
    assert policies(instance) == {"1001": "optional", "1002": "optional", "1003": "optional"}
    assert db_rows(instance, "SELECT srtp FROM extensions WHERE ext='1003'") == [("optional",)]


@pytest.mark.parametrize("mode", ["required", "optional", "off"])
def test_add_stores_each_mode(instance, mode):
    instance.add_ext("1003", "--srtp", mode)
    assert policy(instance, "1003") == mode
    assert db_rows(instance, "SELECT srtp FROM extensions WHERE ext='1003'") == [(mode,)]


def test_remote_is_required_by_default(instance):
    instance.add_ext("2001", "--remote")
    instance.add_ext("2002", "--remote", "--srtp", "required")
    d = json.loads(instance.cli("ext", "show", "2001", "--json").stdout)
    assert d["remote"] is True and d["srtp"] == "required"
    assert policy(instance, "2002") == "required"


@pytest.mark.parametrize("mode", ["optional", "off"])
def test_remote_with_a_weaker_mode_is_refused(instance, mode):
    p = instance.cli("ext", "add", "2001", "--remote", "--srtp", mode, check=False)
    first = refused(p, 2, "ringfence: ext add:", f"--remote with --srtp {mode} refused",
                    REMOTE_WHY, "--srtp required")
    assert "password" not in first
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='2001'") == []
    assert events(instance, "ext_added", "2001") == []


@pytest.mark.parametrize("value, shown", [
    ("bogus", "'bogus'"),
    ("Required", "'Required'"),
    ("", "''"),
    ("on", "'on'"),
    ("off\x1b[2J", "'off?[2J'"),
])
def test_add_bad_mode_is_a_usage_error(instance, value, shown):
    p = instance.cli("ext", "add", "1003", "--srtp", value, check=False)
    refused(p, 2, "ringfence: ext add:", f"--srtp {shown} is not a mode",
            "use required, optional or off")
    assert "\x1b" not in p.stderr
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='1003'") == []


def test_list_table_has_the_srtp_column(instance):
    instance.add_ext("1003", "--srtp", "off")
    instance.add_ext("2001", "--remote")
    lines = instance.cli("ext", "list").stdout.splitlines()
    head = lines[0].split()
    assert head[:5] == ["EXTENSION", "NAME", "ACCESS", "REMOTE", "SRTP"]
    col = lines[0].index("SRTP")
    rows = {l.split()[0]: l[col:].split()[0] for l in lines[1:]}
    assert rows == {"1001": "optional", "1002": "optional", "1003": "off", "2001": "required"}
    show = instance.cli("ext", "show", "1003").stdout
    assert "srtp: off" in show.splitlines()


# ---- ext set ----

def test_set_changes_the_policy_and_logs(instance):
    ha1 = db_rows(instance, "SELECT ha1_md5, ha1_sha256, name FROM extensions WHERE ext='1001'")
    p = instance.cli("ext", "set", "1001", "--srtp", "required")
    assert "extension 1001 changed" in p.stdout
    assert "srtp: required" in p.stdout.splitlines()
    assert policy(instance, "1001") == "required"
    # Only the policy changed: the credentials and the name are kept.
    assert db_rows(instance, "SELECT ha1_md5, ha1_sha256, name FROM extensions "
                   "WHERE ext='1001'") == ha1
    ev = events(instance, "ext_changed", "1001")
    assert len(ev) == 1 and "change=srtp" in ev[0] and "by=cli" in ev[0]
    instance.cli("ext", "set", "1001", "--srtp", "off")
    assert policy(instance, "1001") == "off"
    instance.cli("ext", "set", "1001", "--srtp", "optional")
    assert policy(instance, "1001") == "optional"
    assert len(events(instance, "ext_changed", "1001")) == 3


def test_set_name_and_both(instance):
    instance.cli("ext", "set", "1002", "--name", "Meeting room")
    d = json.loads(instance.cli("ext", "show", "1002", "--json").stdout)
    assert d["name"] == "Meeting room" and d["srtp"] == "optional"
    ev = events(instance, "ext_changed", "1002")
    assert len(ev) == 1 and "change=name" in ev[0]
    # Both at once: one event per changed field.
    instance.cli("ext", "set", "1002", "--name", "Lab", "--srtp", "off")
    d = json.loads(instance.cli("ext", "show", "1002", "--json").stdout)
    assert (d["name"], d["srtp"]) == ("Lab", "off")
    changes = [e.split("change=")[1] for e in events(instance, "ext_changed", "1002")]
    assert changes == ["name", "name", "srtp"]
    # An empty name clears it.
    instance.cli("ext", "set", "1002", "--name", "")
    assert json.loads(instance.cli("ext", "show", "1002", "--json").stdout)["name"] == ""


def test_set_remote_keeps_required(instance):
    instance.add_ext("2001", "--remote")
    for mode in ("optional", "off"):
        p = instance.cli("ext", "set", "2001", "--srtp", mode, check=False)
        refused(p, 1, "ringfence: ext set:", f"--srtp {mode} refused",
                "extension 2001 is remote", REMOTE_WHY)
        assert policy(instance, "2001") == "required"
    # Refused with a name alongside: nothing at all is written.
    p = instance.cli("ext", "set", "2001", "--name", "Road", "--srtp", "off", check=False)
    refused(p, 1, "extension 2001 is remote")
    assert json.loads(instance.cli("ext", "show", "2001", "--json").stdout)["name"] == ""
    assert events(instance, "ext_changed", "2001") == []
    # Saying required again is allowed.
    instance.cli("ext", "set", "2001", "--srtp", "required", "--name", "Road")
    d = json.loads(instance.cli("ext", "show", "2001", "--json").stdout)
    assert (d["name"], d["srtp"], d["remote"]) == ("Road", "required", True)


def test_set_unknown_extension(instance):
    p = instance.cli("ext", "set", "4242", "--srtp", "off", check=False)
    refused(p, 1, "ringfence: ext set: extension 4242 does not exist")
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='4242'") == []
    assert instance.security_events("ext_changed") == []


def test_set_needs_an_option(instance):
    p = instance.cli("ext", "set", "1001", check=False)
    refused(p, 2, "ringfence: ext set: nothing to change", "--name", "--srtp", "--cos",
            "--countries")
    # Checked before the directory: an unknown extension says the same.
    p = instance.cli("ext", "set", "4242", check=False)
    refused(p, 2, "nothing to change")


@pytest.mark.parametrize("args, status, message", [
    (["1001", "--srtp", "maybe"], 2, "--srtp 'maybe' is not a mode: use required, optional or off"),
    (["1001", "--srtp", "OFF"], 2, "--srtp 'OFF' is not a mode"),
    (["1001", "--name", "tab\there"], 2, "--name contains a control character at position 4"),
    (["10 01", "--srtp", "off"], 2, "extension contains a space at position 3"),
    (["1001", "--remote"], 2, "unknown option '--remote'"),
    (["1001", "--password", "x"], 2, "unknown option '--password'"),
    ([], 2, "ext set"),
])
def test_set_bad_arguments(instance, args, status, message):
    before = db_rows(instance, "SELECT * FROM extensions ORDER BY ext")
    p = instance.cli("ext", "set", *args, check=False)
    refused(p, status, message)
    assert db_rows(instance, "SELECT * FROM extensions ORDER BY ext") == before
    assert instance.security_events("ext_changed") == []


def test_set_bad_mode_is_refused_before_the_name_is_written(instance):
    p = instance.cli("ext", "set", "1001", "--name", "New", "--srtp", "sometimes", check=False)
    refused(p, 2, "--srtp 'sometimes' is not a mode")
    assert json.loads(instance.cli("ext", "show", "1001", "--json").stdout)["name"] == "Demo 1001"


def test_set_help_is_a_manual(instance):
    out = instance.cli("ext", "set", "--help").stdout
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS"):
        assert f"\n{section}\n" in "\n" + out, section
    assert "ringfence [-c CONF] ext set EXT [--name NAME] [--srtp MODE]" in out
    assert "    --srtp MODE" in out and "    --name NAME" in out
    assert "ext_changed" in out and "required" in out and "remote" in out
    assert "ext set" in instance.cli("ext", "--help").stdout
    add = instance.cli("ext", "add", "--help").stdout
    assert "    --srtp MODE" in add and "[--srtp MODE]" in add


# ---- ext import ----

def write(inst, name, text):
    path = os.path.join(inst.dir, "..", name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_import_reads_the_srtp_column(instance):
    path = write(instance, "srtp.csv", "extension,password,name,srtp\n"
                 "2001,,A,required\n"
                 "2002,,B,off\n"
                 "2003,,C,optional\n"
                 "2004,,D,\n"
                 "2005,,E\n"
                 "2006,\n"
                 '2007,,"Smith, J","off"\n')
    out = instance.cli("ext", "import", path).stdout
    assert "7 extensions imported" in out
    got = policies(instance)
    assert {k: got[k] for k in ("2001", "2002", "2003", "2004", "2005", "2006", "2007")} == {
        "2001": "required", "2002": "off", "2003": "optional", "2004": "optional",
        "2005": "optional", "2006": "optional", "2007": "off"}
    d = json.loads(instance.cli("ext", "show", "2007", "--json").stdout)
    assert (d["name"], d["remote"]) == ("Smith, J", False)


def test_import_bad_mode_names_the_line_and_imports_nothing(instance):
    path = write(instance, "bad-srtp.csv", "2001,,A,required\n"
                 "2002,,B,Required\n"
                 "2003,,C,always\n"
                 "2004,,D,off,,,,,,,extra\n"
                 "2005,,E,off\n")
    p = instance.cli("ext", "import", path, check=False)
    assert p.returncode == 1
    assert "3 bad lines" in p.stderr and "nothing was imported" in p.stderr
    assert "bad-srtp.csv:2: srtp 'Required' is not a mode: use required, optional or off" \
        in p.stderr
    assert "bad-srtp.csv:3: srtp 'always' is not a mode" in p.stderr
    assert "bad-srtp.csv:4: too many fields" in p.stderr
    assert ":1:" not in p.stderr and ":5:" not in p.stderr
    assert set(policies(instance)) == {"1001", "1002"}


def test_import_help_names_the_column(instance):
    out = instance.cli("ext", "import", "--help").stdout
    assert "extension,password,name,srtp" in out
    assert "required, optional or off" in " ".join(out.split())


# ---- CDR: SRTP per leg ----

# Bridged calls: the caller's leg SRTP and the callee's plain RTP, and the
# reverse; plus a call with SRTP on both legs.
LEGS = [
    cdr("1001", "1002", T0, result=200, srtp=0, srtp_a=1, srtp_b=0),
    cdr("1002", "1001", T0 + 1000, result=200, srtp=0, srtp_a=0, srtp_b=1),
    cdr("1001", "1002", T0 + 2000, result=200, srtp=1, srtp_a=1, srtp_b=1),
]


def test_cdr_list_shows_each_leg(instance):
    insert_cdrs(instance, LEGS)
    rows = json.loads(instance.cli("cdr", "list", "--json").stdout)
    assert [(r["srtp"], r["srtp_a"], r["srtp_b"]) for r in rows] == [
        (False, True, False), (False, False, True), (True, True, True)]
    lines = instance.cli("cdr", "list").stdout.splitlines()
    head = lines[0].split()
    assert head[-3:] == ["SRTP", "SRTP-A", "SRTP-B"]
    assert [l.split()[-3:] for l in lines[1:]] == [
        ["no", "yes", "no"], ["no", "no", "yes"], ["yes", "yes", "yes"]]


def test_cdr_export_appends_the_legs(instance):
    insert_cdrs(instance, LEGS)
    rows = parse_csv(instance.cli("cdr", "export", "--csv").stdout)
    # Columns are only ever appended, so readers that go by position
    # still work: srtp stays 20th, the legs follow it.
    assert rows[0][19:22] == ["srtp", "srtp_a", "srtp_b"]
    assert [r[19:22] for r in rows[1:]] == [
        ["no", "yes", "no"], ["no", "no", "yes"], ["yes", "yes", "yes"]]


def test_cdr_help_names_the_legs(instance):
    lst = instance.cli("cdr", "list", "--help").stdout
    assert "srtp_a" in lst and "srtp_b" in lst and "SRTP-A" in lst
    exp = instance.cli("cdr", "export", "--help").stdout
    assert "lost,srtp,srtp_a,srtp_b" in exp


# ---- an instance from before the policy ----

# The database as the previous schema (version 2) left it.
OLD_SCHEMA = """
CREATE TABLE extensions (ext TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '',
  ha1_md5 TEXT NOT NULL, ha1_sha256 TEXT NOT NULL,
  remote INTEGER NOT NULL DEFAULT 0 CHECK (remote IN (0, 1)),
  created INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE ext_acl (ext TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('permit', 'deny')), cidr TEXT NOT NULL,
  pos INTEGER NOT NULL, PRIMARY KEY (ext, kind, pos));
CREATE TABLE contacts (ext TEXT NOT NULL REFERENCES extensions(ext) ON DELETE CASCADE,
  contact TEXT NOT NULL, source TEXT NOT NULL, transport TEXT NOT NULL,
  user_agent TEXT NOT NULL DEFAULT '', call_id TEXT NOT NULL, cseq INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, registered_at INTEGER NOT NULL, PRIMARY KEY (ext, contact));
CREATE INDEX contacts_expires ON contacts(expires_at);
CREATE TABLE cdr (id INTEGER PRIMARY KEY, caller TEXT NOT NULL, callee TEXT NOT NULL,
  call_id TEXT NOT NULL, start_ms INTEGER NOT NULL, answer_ms INTEGER NOT NULL DEFAULT 0,
  end_ms INTEGER NOT NULL, duration_s INTEGER NOT NULL DEFAULT 0,
  result INTEGER NOT NULL, hangup TEXT NOT NULL DEFAULT '',
  packets_a INTEGER NOT NULL DEFAULT 0, bytes_a INTEGER NOT NULL DEFAULT 0,
  packets_b INTEGER NOT NULL DEFAULT 0, bytes_b INTEGER NOT NULL DEFAULT 0,
  dropped_foreign INTEGER NOT NULL DEFAULT 0, lost INTEGER NOT NULL DEFAULT 0,
  srtp INTEGER NOT NULL DEFAULT 0 CHECK (srtp IN (0, 1)));
CREATE INDEX cdr_start ON cdr(start_ms);
INSERT INTO extensions VALUES
  ('1001', 'Desk', '%(md5)s', '%(sha)s', 0, 100, 100),
  ('2001', 'Road', '%(md5)s', '%(sha)s', 1, 100, 100);
INSERT INTO cdr (caller, callee, call_id, start_ms, end_ms, result, srtp) VALUES
  ('1001', '2001', 'old-1@x', %(t0)d, %(t0)d + 5000, 200, 1),
  ('2001', '1001', 'old-2@x', %(t0)d + 9000, %(t0)d + 9500, 486, 0);
PRAGMA user_version = 2;
""" % {"md5": "0" * 32, "sha": "0" * 64, "t0": T0}


def replace_db_with_old_schema(inst):
    """Write a version-2 database in place of the instance's, as the user
    that owns it (as root, a file of ours would lock the service user out)."""
    db = db_path(inst)
    st = os.stat(db)
    code = ("import os, sqlite3, sys\n"
            "for sfx in ('', '-wal', '-shm'):\n"
            "    if os.path.exists(sys.argv[1] + sfx): os.unlink(sys.argv[1] + sfx)\n"
            "fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o600); os.close(fd)\n"
            "con = sqlite3.connect(sys.argv[1])\n"
            "con.executescript(sys.argv[2])\n"
            "con.commit(); con.close()\n")
    kw = {"user": st.st_uid, "group": st.st_gid} if AS_ROOT else {}
    subprocess.run([sys.executable, "-c", code, db, OLD_SCHEMA], check=True, **kw)


def test_old_database_is_migrated(instance):
    replace_db_with_old_schema(instance)
    assert db_rows(instance, "PRAGMA user_version") == [(2,)]
    lst = json.loads(instance.cli("ext", "list", "--json").stdout)
    assert {e["ext"]: (e["remote"], e["srtp"]) for e in lst} == {
        "1001": (False, "optional"), "2001": (True, "required")}
    assert db_rows(instance, "PRAGMA user_version")[0][0] >= 3
    # The old srtp flag meant both legs.
    rows = json.loads(instance.cli("cdr", "list", "--json").stdout)
    assert [(r["call_id"], r["srtp"], r["srtp_a"], r["srtp_b"]) for r in rows] == [
        ("old-1@x", True, True, True), ("old-2@x", False, False, False)]
    # And the migrated remote extension keeps the rule.
    p = instance.cli("ext", "set", "2001", "--srtp", "off", check=False)
    refused(p, 1, "extension 2001 is remote")
