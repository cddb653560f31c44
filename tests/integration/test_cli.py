"""The command-line contract: init, ext, reg list, check-config, errors.

Everything here runs the real binary against a real instance directory;
the database is inspected with Python's sqlite3 to prove what is (and is
not) stored.
"""
import json
import os
import pwd
import re
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from conftest import BIN, Instance, free_port, run_cli

PW_LINE = re.compile(r"password:\s*(\S+)")
AS_ROOT = os.geteuid() == 0


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def db_path(inst):
    return os.path.join(inst.dir, "ringfence.db")


def db_rows(inst, sql, params=()):
    """Read the database without creating any file in the instance: as
    root a -shm file of ours would lock the service user out."""
    con = sqlite3.connect(f"file:{db_path(inst)}?immutable=1", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def db_write(inst, sql, params=()):
    """Write to the database as the user that owns it, like the daemon."""
    st = os.stat(db_path(inst))
    code = ("import sqlite3, sys, json\n"
            "con = sqlite3.connect(sys.argv[1])\n"
            "con.execute('PRAGMA foreign_keys = ON')\n"
            "con.execute(sys.argv[2], json.loads(sys.argv[3]))\n"
            "con.commit()\n")
    kw = {"user": st.st_uid, "group": st.st_gid} if AS_ROOT else {}
    subprocess.run([sys.executable, "-c", code, db_path(inst), sql, json.dumps(list(params))],
                   check=True, **kw)


def ha1s(inst):
    return [v for row in db_rows(inst, "SELECT ha1_md5, ha1_sha256 FROM extensions") for v in row]


def add_contact(inst, ext, contact, expires_in, ua="Softphone/2.1"):
    now = int(time.time())
    db_write(inst, "INSERT INTO contacts (ext, contact, source, transport, user_agent,"
             " call_id, cseq, expires_at, registered_at) VALUES (?,?,?,?,?,?,?,?,?)",
             (ext, contact, "127.0.0.1:5099", "udp", ua, "cid-1@host", 1,
              now + expires_in, now))


def service_uid():
    try:
        return pwd.getpwnam("ringfence").pw_uid
    except KeyError:
        return None


# ---------------------------------------------------------------- init

def test_init_prints_credentials_once_in_the_documented_shape(instance):
    out = instance.init_out
    lines = out.splitlines()
    assert lines[0] == f"Ringfence instance created in {instance.dir}"
    assert lines[1] == (f"  SIP: udp/tcp 127.0.0.1:{instance.port}, "
                        f"tls 127.0.0.1:{instance.port + 1}, realm 127.0.0.1")
    assert lines[2] == "Demo extensions (shown once; store them in the phones now):"
    creds = re.findall(r"^\s*(\d+)\s+(\S+)\s*$", out, re.M)
    assert [e for e, _ in creds] == ["1001", "1002"]
    for _, pw in creds:
        assert len(pw) >= 20
        assert re.search(r"[A-Z]", pw) and re.search(r"[a-z]", pw)
        assert re.search(r"[0-9]", pw) and re.search(r"[^A-Za-z0-9]", pw)
    assert creds[0][1] != creds[1][1]


def test_init_creates_files_with_tight_permissions(instance):
    d = instance.dir
    assert mode(d) == 0o750
    assert mode(instance.conf) == 0o640
    assert mode(db_path(instance)) == 0o600
    assert mode(os.path.join(d, "secret.key")) == 0o600
    assert os.path.getsize(os.path.join(d, "secret.key")) == 32
    assert mode(os.path.join(d, "tls", "key.pem")) == 0o600
    assert os.path.exists(os.path.join(d, "tls", "cert.pem"))
    assert os.path.exists(instance.seclog)
    assert sorted(r[0] for r in db_rows(instance, "SELECT ext FROM extensions")) == ["1001", "1002"]
    if AS_ROOT:
        uid = service_uid()
        assert uid is not None, "init as root must create the service user"
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                assert os.lstat(os.path.join(root, n)).st_uid == uid, n
        assert os.stat(d).st_uid == uid


def test_init_certificate_is_ecdsa_p256_for_the_listen_address(instance):
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in",
                           os.path.join(instance.dir, "tls", "cert.pem")],
                          capture_output=True, text=True, check=True).stdout
    assert "id-ecPublicKey" in text and "P-256" in text
    assert "IP Address:127.0.0.1" in text
    m = re.search(r"Not After : (.*)", text)
    not_after = time.mktime(time.strptime(m.group(1).strip(), "%b %d %H:%M:%S %Y %Z"))
    assert not_after - time.time() > 9.9 * 365 * 86400
    # The key belongs to the certificate.
    pub_cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in",
                               os.path.join(instance.dir, "tls", "cert.pem")],
                              capture_output=True, text=True, check=True).stdout
    pub_key = subprocess.run(["openssl", "pkey", "-pubout", "-in",
                              os.path.join(instance.dir, "tls", "key.pem")],
                             capture_output=True, text=True, check=True).stdout
    assert pub_cert == pub_key


def test_init_refuses_an_existing_instance(instance):
    before = open(instance.conf).read()
    db_before = ha1s(instance)
    p = run_cli(["init", "--dir", instance.dir])
    assert p.returncode == 1
    assert "already exists" in p.stderr and "ringfence.conf" in p.stderr
    assert p.stdout == ""
    assert open(instance.conf).read() == before
    assert ha1s(instance) == db_before


def test_port_option_puts_tls_on_the_next_port(workdir):
    port = free_port()
    inst = Instance(workdir, port)
    out = inst.cli("check-config").stdout
    assert re.search(rf"^port\s*=\s*{port}\s*$", out, re.M), out
    assert re.search(rf"^tls_port\s*=\s*{port + 1}\s*$", out, re.M), out


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "--port '0'"),
    (["--port", "65535"], "--port '65535'"),
    (["--port", "50x"], "--port '50x'"),
    (["--listen", "localhost"], "--listen 'localhost': not an IPv4 or IPv6 address"),
    (["--realm", "a b"], "--realm 'a b'"),
    (["--prot", "5080"], "unknown option '--prot' (did you mean --port?)"),
])
def test_init_bad_values_are_usage_errors_and_create_nothing(workdir, args, message):
    d = os.path.join(workdir, "bad")
    p = run_cli(["init", "--dir", d] + args)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr
    assert p.stderr.startswith("ringfence: init: ")
    assert not os.path.exists(d)


def test_init_failing_half_way_removes_what_it_created(workdir):
    d = os.path.join(workdir, "half")
    os.mkdir(d)
    # A file where the certificate directory should go: init gets as far as
    # the config and the secret, then must undo them.
    with open(os.path.join(d, "tls"), "w") as f:
        f.write("in the way\n")
    p = run_cli(["init", "--dir", d, "--port", str(free_port())])
    assert p.returncode == 1
    assert p.stderr.startswith("ringfence: init: ") and "tls" in p.stderr
    assert p.stdout == ""
    assert sorted(os.listdir(d)) == ["tls"]


def test_init_without_dir_is_a_usage_error():
    p = run_cli(["init"])
    assert p.returncode == 2
    assert "missing required option --dir DIR" in p.stderr


# ---------------------------------------------------------------- ext add

def test_ext_add_generates_and_prints_the_password_once(instance):
    p = instance.cli("ext", "add", "1003", "--name", "Front desk")
    found = PW_LINE.findall(p.stdout)
    assert len(found) == 1
    pw = found[0]
    assert len(pw) >= 20
    assert re.search(r"[A-Z]", pw) and re.search(r"[a-z]", pw)
    assert re.search(r"[0-9]", pw) and re.search(r"[^A-Za-z0-9]", pw)
    assert re.search(r"^password: \S+$", p.stdout, re.M)
    show = instance.cli("ext", "show", "1003").stdout
    assert "Front desk" in show and pw not in show
    events = instance.security_events("ext_added")
    assert any('ext="1003"' in e and "by=cli" in e for e in events), events


def test_ext_add_stores_only_ha1_for_the_configured_realm(instance):
    import hashlib
    pw = "Tr4ck-Mango-Quill"
    instance.cli("ext", "add", "1003", "--password", pw)
    md5, sha = db_rows(instance, "SELECT ha1_md5, ha1_sha256 FROM extensions WHERE ext='1003'")[0]
    assert md5 == hashlib.md5(f"1003:127.0.0.1:{pw}".encode()).hexdigest()
    assert sha == hashlib.sha256(f"1003:127.0.0.1:{pw}".encode()).hexdigest()


def test_password_from_stdin(instance):
    pw = "Tr4ck-Mango-Quill"
    p = instance.cli("ext", "add", "1003", "--password", "-", input=pw + "\n")
    assert "password:" not in p.stdout
    import hashlib
    md5 = db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1003'")[0][0]
    assert md5 == hashlib.md5(f"1003:127.0.0.1:{pw}".encode()).hexdigest()


def read_until(fd, pattern, deadline):
    """Read a pty's output until `pattern` shows up, the program ends (EIO)
    or the deadline passes; returns everything read."""
    import select
    out = b""
    while time.time() < deadline and pattern not in out:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the program closed its end
            break
        if not chunk:
            break
        out += chunk
    return out


def on_terminal(inst, args, typed):
    """Run a command whose standard input, output and error are a
    terminal (a pty), as when an administrator types at it: wait for the
    prompt, type `typed` and Enter, and return what the terminal showed,
    the exit status and whether echo was back on afterwards."""
    import pty
    import termios
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([BIN, "-c", inst.conf, *args], stdin=slave, stdout=slave,
                             stderr=slave, close_fds=True)
        deadline = time.time() + 20
        shown = read_until(master, b": ", deadline)
        os.write(master, typed.encode() + b"\n")
        shown += read_until(master, b"\x00never", min(deadline, time.time() + 5)
                            if p.poll() is not None else deadline)
        rc = p.wait(timeout=max(1, deadline - time.time()))
        shown += read_until(master, b"\x00never", time.time() + 0.5)
        echo_on = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
    finally:
        os.close(master)
        os.close(slave)
    return shown.decode(errors="replace"), rc, echo_on


def test_password_typed_at_a_terminal_is_not_echoed(instance):
    import hashlib
    pw = "Tr4ck-Mango-Quill"
    shown, rc, echo_on = on_terminal(instance, ["ext", "add", "1003", "--password", "-"], pw)
    assert rc == 0, shown
    assert "password of extension 1003: " in shown, shown
    assert pw not in shown, "the password was echoed to the terminal"
    assert "extension 1003 added" in shown, shown
    assert echo_on, "echo was left off"
    md5 = db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1003'")[0][0]
    assert md5 == hashlib.md5(f"1003:127.0.0.1:{pw}".encode()).hexdigest()
    # ext passwd reads its password the same way.
    pw2 = "Qu1et-Harbour-Fern"
    shown, rc, echo_on = on_terminal(instance, ["ext", "passwd", "1003", "--password", "-"], pw2)
    assert rc == 0 and pw2 not in shown and echo_on, shown
    md5 = db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1003'")[0][0]
    assert md5 == hashlib.md5(f"1003:127.0.0.1:{pw2}".encode()).hexdigest()


def test_password_from_a_pipe_has_no_prompt_and_limits_hold(instance):
    p = instance.cli("ext", "passwd", "1001", "--password", "-", input="Qu1et-Harbour-Fern\n")
    assert p.stderr == "" and "changed" in p.stdout, (p.stdout, p.stderr)
    p = instance.cli("ext", "add", "1003", "--password", "-", input="", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == "ringfence: ext add: --password -: no password on standard input"
    long_pw = "Aa1!" * 32 + "x"  # 129 characters
    p = instance.cli("ext", "add", "1003", "--password", "-", input=long_pw + "\n", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == "ringfence: ext add: password refused: longer than 128 characters"
    assert long_pw not in p.stderr
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='1003'") == []


@pytest.mark.parametrize("pw, reason", [
    ("Ab1!xyz", "password too short: 7 < 10"),
    ("Abcdefgh1234", "password needs a symbol"),
    ("abcdefgh12!", "password needs an upper-case letter"),
    ("Xq!1003zzKw", "password must not contain the extension number"),
    ("Password123!", "password is a dictionary word with digits or symbols added"),
])
def test_weak_passwords_are_refused_with_the_exact_reason(instance, pw, reason):
    p = instance.cli("ext", "add", "1003", "--password", pw, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == f"ringfence: ext add: password refused: {reason}"
    assert p.stdout == ""
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='1003'") == []
    assert instance.security_events("ext_added") == [
        e for e in instance.security_events("ext_added") if 'ext="1003"' not in e]


def test_duplicate_extension_is_refused_and_keeps_the_original(instance):
    before = ha1s(instance)
    p = instance.cli("ext", "add", "1001", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == "ringfence: ext add: extension 1001 already exists"
    assert "password:" not in p.stdout
    assert ha1s(instance) == before


@pytest.mark.parametrize("cidr", ["10.0.0.1/8", "300.1.1.1", "10.0.0.0/33", "fe80::1/129", "bogus"])
def test_bad_cidr_is_refused_with_its_reason(instance, cidr):
    p = instance.cli("ext", "add", "1003", "--permit", "10.0.0.0/8", "--deny", cidr, check=False)
    assert p.returncode == 2
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"ringfence: ext add: --deny '{cidr}': ")
    assert len(first) > len(f"ringfence: ext add: --deny '{cidr}': ") + 3
    assert "Try 'ringfence ext add --help'." in p.stderr
    assert db_rows(instance, "SELECT ext FROM extensions WHERE ext='1003'") == []
    assert db_rows(instance, "SELECT count(*) FROM ext_acl")[0][0] == 0


def test_acl_and_remote_round_trip(instance):
    instance.add_ext("1003", "--permit", "192.168.10.0/24", "--permit", "2001:db8::/32",
                     "--deny", "192.168.10.66", "--remote")
    d = json.loads(instance.cli("ext", "show", "1003", "--json").stdout)
    assert d["ext"] == "1003"
    assert d["permit"] == ["192.168.10.0/24", "2001:db8::/32"]
    assert d["deny"] == ["192.168.10.66/32"]
    assert d["remote"] is True
    plain = json.loads(instance.cli("ext", "show", "1001", "--json").stdout)
    assert plain["permit"] == [] and plain["remote"] is False


@pytest.mark.parametrize("ext, why", [
    ("10 01", "extension contains a space at position 3"),
    ("1001;DROP", "extension contains ';' at position 5"),
    ("x" * 33, "extension is too long: 33 > 32 characters"),
    ("", "extension is empty"),
])
def test_bad_extension_names_say_why(instance, ext, why):
    p = instance.cli("ext", "add", ext, check=False)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0].startswith(f"ringfence: ext add: {why}")


# ---------------------------------------------------------------- list / show / del

def test_list_and_show_json_are_valid_and_carry_no_ha1(instance):
    name = 'Quote " and \\ back slash, caf\u00e9 \U0001f4de'
    instance.add_ext("1003", "--name", name)
    secrets = ha1s(instance)
    lst = instance.cli("ext", "list", "--json").stdout
    data = json.loads(lst)
    assert [d["ext"] for d in data] == ["1001", "1002", "1003"]
    assert data[2]["name"] == name
    show = instance.cli("ext", "show", "1001", "--json").stdout
    one = json.loads(show)
    assert one["ext"] == "1001"
    for out in (lst, show, instance.cli("ext", "list").stdout,
                instance.cli("ext", "show", "1001").stdout):
        assert "ha1" not in out.lower()
        for h in secrets:
            assert h not in out


def test_control_characters_in_a_name_are_refused(instance):
    p = instance.cli("ext", "add", "1003", "--name", "tab\there", check=False)
    assert p.returncode == 2
    assert "--name contains a control character at position 4" in p.stderr


def test_ext_list_text_has_one_row_per_extension(instance):
    out = instance.cli("ext", "list").stdout.splitlines()
    assert out[0].split()[0] == "EXTENSION"
    assert [l.split()[0] for l in out[1:]] == ["1001", "1002"]


def test_ext_passwd_changes_the_hash_and_logs(instance):
    before = db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1001'")[0][0]
    pw = PW_LINE.findall(instance.cli("ext", "passwd", "1001").stdout)
    assert len(pw) == 1 and pw[0] != instance.passwords["1001"]
    after = db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1001'")[0][0]
    assert after != before
    assert any('ext="1001"' in e for e in instance.security_events("ext_changed"))
    p = instance.cli("ext", "passwd", "1001", "--password", "short", check=False)
    assert p.returncode == 1 and "password too short" in p.stderr
    assert db_rows(instance, "SELECT ha1_md5 FROM extensions WHERE ext='1001'")[0][0] == after
    p = instance.cli("ext", "passwd", "4242", check=False)
    assert p.returncode == 1 and "extension 4242 does not exist" in p.stderr


def test_ext_del_removes_extension_acl_and_contacts(instance):
    instance.add_ext("1003", "--permit", "10.1.0.0/16")
    add_contact(instance, "1003", "sip:1003@10.1.0.7:5060", 600)
    assert db_rows(instance, "SELECT count(*) FROM contacts")[0][0] == 1
    instance.cli("ext", "del", "1003")
    assert db_rows(instance, "SELECT count(*) FROM extensions WHERE ext='1003'")[0][0] == 0
    assert db_rows(instance, "SELECT count(*) FROM ext_acl")[0][0] == 0
    assert db_rows(instance, "SELECT count(*) FROM contacts")[0][0] == 0
    assert any('ext="1003"' in e for e in instance.security_events("ext_removed"))
    p = instance.cli("ext", "show", "1003", check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == "ringfence: ext show: extension 1003 does not exist"
    p = instance.cli("ext", "del", "1003", check=False)
    assert p.returncode == 1


def lock(inst, ext):
    now = int(time.time())
    db_write(inst, "INSERT INTO ext_locks (ext, created, until, failures, sources)"
             " VALUES (?, ?, ?, 20, 3)", (ext, now, now + 3600))


def test_ext_del_takes_the_lock_so_a_new_extension_is_not_born_locked(instance):
    instance.add_ext("1003")
    lock(instance, "1003")
    lock(instance, "1002")
    assert "1003" in instance.cli("ext", "locked").stdout
    instance.cli("ext", "del", "1003")
    assert db_rows(instance, "SELECT ext FROM ext_locks") == [("1002",)]
    instance.add_ext("1003")
    locked = [e["ext"] for e in json.loads(instance.cli("ext", "locked", "--json").stdout)]
    assert locked == ["1002"]


def cdr_count(inst, ext):
    return db_rows(inst, "SELECT count(*) FROM cdr WHERE caller = ? OR callee = ?", (ext, ext))[0][0]


def test_ext_del_refuses_an_extension_that_dids_ring_and_names_them(instance):
    instance.add_ext("1003")
    lock(instance, "1003")
    add_contact(instance, "1003", "sip:1003@127.0.0.1:5097", 600)
    instance.cli("did", "add", "+441632960002", "--ext", "1003")
    instance.cli("did", "add", "01632 960001", "--ext", "1003")
    instance.cli("did", "add", "+441632960009", "--ext", "1002")
    p = instance.cli("ext", "del", "1003", check=False)
    assert p.returncode == 1 and p.stdout == "", p
    assert p.stderr.splitlines()[0] == (
        "ringfence: ext del: extension 1003 is the destination of DIDs +441632960001, "
        "+441632960002: give --force to delete them with it, or point them elsewhere "
        "first (did del, did add)"), p.stderr
    # Nothing changed: the extension, its DIDs, contact and lock are all there.
    assert db_rows(instance, "SELECT count(*) FROM extensions WHERE ext='1003'")[0][0] == 1
    assert db_rows(instance, "SELECT count(*) FROM dids WHERE ext='1003'")[0][0] == 2
    assert db_rows(instance, "SELECT count(*) FROM contacts WHERE ext='1003'")[0][0] == 1
    assert db_rows(instance, "SELECT count(*) FROM ext_locks WHERE ext='1003'")[0][0] == 1
    assert not any('ext="1003"' in e for e in instance.security_events("ext_removed"))
    instance.cli("did", "del", "+441632960002")
    p = instance.cli("ext", "del", "1003", check=False)
    assert p.returncode == 1
    assert "destination of DID +441632960001: give --force to delete it with it" in p.stderr


def test_ext_del_force_deletes_and_names_the_dids_and_keeps_the_cdrs(instance):
    instance.add_ext("1003")
    lock(instance, "1003")
    instance.cli("did", "add", "+441632960001", "--ext", "1003")
    instance.cli("did", "add", "+441632960002", "--ext", "1003")
    instance.cli("did", "add", "+441632960009", "--ext", "1002")
    db_write(instance, "INSERT INTO cdr (caller, callee, call_id, start_ms, end_ms, result)"
             " VALUES ('1003', '1002', 'a@x', 1000, 2000, 200)")
    db_write(instance, "INSERT INTO cdr (caller, callee, call_id, start_ms, end_ms, result,"
             " direction, e164) VALUES ('', '1003', 'b@x', 3000, 4000, 200, 'inbound',"
             " '+441632960001')")
    p = instance.cli("ext", "del", "1003", "--force")
    assert "extension 1003 removed" in p.stdout, p.stdout
    assert ("DIDs +441632960001, +441632960002 removed with it: their calls are no longer "
            "delivered") in p.stdout, p.stdout
    assert db_rows(instance, "SELECT number, ext FROM dids") == [("+441632960009", "1002")]
    assert db_rows(instance, "SELECT count(*) FROM extensions WHERE ext='1003'")[0][0] == 0
    assert db_rows(instance, "SELECT count(*) FROM ext_locks WHERE ext='1003'")[0][0] == 0
    assert cdr_count(instance, "1003") == 2, "call records are history and stay"
    removed = instance.security_events("did_removed")
    assert len(removed) == 2 and all('ext="1003"' in e for e in removed), removed
    assert any("number=+441632960001" in e for e in removed), removed
    assert any('ext="1003"' in e for e in instance.security_events("ext_removed"))
    # Without DIDs --force is just ext del.
    instance.add_ext("1004")
    p = instance.cli("ext", "del", "1004", "--force")
    assert "extension 1004 removed" in p.stdout and "DID" not in p.stdout
    p = instance.cli("ext", "del", "1004", "--force", check=False)
    assert p.returncode == 1 and "extension 1004 does not exist" in p.stderr


# ---------------------------------------------------------------- reg list

def test_reg_list_shows_live_contacts_only(instance):
    add_contact(instance, "1001", "sip:1001@127.0.0.1:5099", 300)
    add_contact(instance, "1002", "sip:1002@127.0.0.1:5098", -5)
    data = json.loads(instance.cli("reg", "list", "--json").stdout)
    assert len(data) == 1
    row = data[0]
    assert row["ext"] == "1001"
    assert row["contact"] == "sip:1001@127.0.0.1:5099"
    assert row["source"] == "127.0.0.1:5099"
    assert row["transport"] == "udp"
    assert row["user_agent"] == "Softphone/2.1"
    assert 290 <= row["expires_in"] <= 300
    text = instance.cli("reg", "list").stdout.splitlines()
    assert text[0].split() == ["EXTENSION", "CONTACT", "SOURCE", "TRANSPORT",
                               "USER-AGENT", "EXPIRES-IN"]
    assert len(text) == 2
    assert text[1].split()[:5] == ["1001", "sip:1001@127.0.0.1:5099", "127.0.0.1:5099",
                                   "udp", "Softphone/2.1"]


def test_reg_list_escapes_hostile_user_agents(instance):
    add_contact(instance, "1001", "sip:1001@127.0.0.1:5099", 300,
                ua='evil\x1b[31m"\n\\ \u00e9\udcff'.encode("utf-8", "surrogateescape")
                .decode("utf-8", "replace"))
    raw = subprocess.run([BIN, "-c", instance.conf, "reg", "list"], capture_output=True)
    assert raw.returncode == 0
    assert b"\x1b" not in raw.stdout
    assert b"\\x1b[31m" in raw.stdout
    js = instance.cli("reg", "list", "--json").stdout
    assert json.loads(js)[0]["user_agent"].startswith('evil\x1b[31m"\n\\ ')


# ---------------------------------------------------------------- config

def test_ringfence_conf_environment_variable(instance, workdir):
    p = run_cli(["ext", "list"], env={"RINGFENCE_CONF": instance.conf})
    assert p.returncode == 0, p.stderr
    assert "1001" in p.stdout


def test_missing_default_config_is_explained(workdir):
    e = dict(os.environ)
    e.pop("RINGFENCE_CONF", None)
    p = subprocess.run([BIN, "ext", "list"], capture_output=True, text=True, cwd=workdir, env=e)
    assert p.returncode == 1
    assert "./ringfence.conf does not exist" in p.stderr
    assert "-c CONF" in p.stderr and "RINGFENCE_CONF" in p.stderr


def test_check_config_reports_unknown_key_with_file_and_line(instance):
    instance.set_conf("sip", "bogus_key", "1")
    lines = open(instance.conf).read().splitlines()
    lineno = next(i + 1 for i, l in enumerate(lines) if l.startswith("bogus_key"))
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1
    assert f"{instance.conf}:{lineno}:" in p.stderr
    assert "bogus_key" in p.stderr
    assert p.stdout == ""
    # Every command refuses a broken configuration the same way.
    p = instance.cli("ext", "list", check=False)
    assert p.returncode == 1 and f"{instance.conf}:{lineno}:" in p.stderr


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize("args, code, message", [
    (["frobnicate"], 2, "ringfence: unknown command 'frobnicate'"),
    (["chek-config"], 2, "ringfence: unknown command 'chek-config' (did you mean 'check-config'?)"),
    (["ext"], 2, "ringfence: ext: missing command (one of: add, list, show, passwd, set, del, import, unlock, locked, resume)"),
    (["ext", "ad", "1003"], 2, "ringfence: ext: unknown command 'ad' (did you mean 'ext add'?)"),
    (["ext", "add", "1003", "--pasword", "x"], 2,
     "ringfence: ext add: unknown option '--pasword' (did you mean --password?)"),
    (["ext", "add"], 2, "ringfence: ext add: missing argument EXT"),
    (["ext", "add", "1003", "--password"], 2,
     "ringfence: ext add: option '--password' needs a value (PW)"),
    (["ext", "add", "1003", "--remote=yes"], 2, "ringfence: ext add: option '--remote' takes no value"),
    (["ext", "add", "1003", "--name", "a", "--name", "b"], 2,
     "ringfence: ext add: option '--name' given more than once"),
    (["ext", "show", "1001", "1002"], 2, "ringfence: ext show: unexpected argument '1002'"),
    (["ext", "list", "--jsn"], 2, "ringfence: ext list: unknown option '--jsn' (did you mean --json?)"),
    (["reg", "list", "extra"], 2, "ringfence: reg list: unexpected argument 'extra'"),
])
def test_usage_errors_are_one_clear_line_and_exit_2(instance, args, code, message):
    before = ha1s(instance)
    p = instance.cli(*args, check=False)
    assert p.returncode == code
    lines = p.stderr.splitlines()
    assert lines[0].startswith(message), p.stderr
    assert lines[1].startswith("Try 'ringfence ")
    assert p.stdout == ""
    assert ha1s(instance) == before


def test_missing_command_and_unknown_global_option():
    p = run_cli([])
    assert p.returncode == 2 and p.stderr.startswith("ringfence: missing command")
    p = run_cli(["--confg", "x", "ext", "list"])
    assert p.returncode == 2
    assert p.stderr.startswith("ringfence: unknown option '--confg' (did you mean --config?)")


@pytest.mark.parametrize("args", [["--help"], ["help"], ["ext", "add", "--help"],
                                  ["help", "ext", "add"], ["init", "--help"],
                                  ["reg", "list", "-h"], ["check-config", "--help"],
                                  ["serve", "--help"]])
def test_help_is_a_manual_page(args):
    p = run_cli(args)
    assert p.returncode == 0
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS"):
        assert re.search(rf"^{section}$", p.stdout, re.M), (section, p.stdout)
    assert p.stderr == ""


def test_version():
    p = run_cli(["version"])
    assert p.returncode == 0 and p.stdout.startswith("ringfence ")


# ---------------------------------------------------------------- secrets

def test_no_command_prints_a_stored_secret(instance):
    add_contact(instance, "1001", "sip:1001@127.0.0.1:5099", 300)
    with open(os.path.join(instance.dir, "secret.key"), "rb") as f:
        key_hex = f.read().hex()
    secrets = list(instance.passwords.values()) + ha1s(instance) + [key_hex]
    outputs = []
    for args in (["ext", "list"], ["ext", "list", "--json"], ["ext", "show", "1001"],
                 ["ext", "show", "1002", "--json"], ["reg", "list"], ["reg", "list", "--json"],
                 ["check-config"], ["ext", "del", "1002"], ["version"]):
        p = instance.cli(*args)
        outputs += [p.stdout, p.stderr]
    with open(instance.seclog) as f:
        outputs.append(f.read())
    blob = "\n".join(outputs)
    for s in secrets:
        assert s not in blob


def test_database_holds_no_plaintext_password(instance):
    added = instance.add_ext("1003")
    chosen = "Tr4ck-Mango-Quill"
    instance.cli("ext", "add", "1004", "--password", chosen)
    instance.cli("ext", "passwd", "1004", "--password", "Wh1sk-Otter-Plume")
    blob = b""
    for suffix in ("", "-wal", "-journal"):
        try:
            with open(db_path(instance) + suffix, "rb") as f:
                blob += f.read()
        except FileNotFoundError:
            pass
    # The search works: the HA1s are there...
    for h in ha1s(instance):
        assert h.encode() in blob
    # ...and the passwords are not, in any form.
    for pw in list(instance.passwords.values()) + [added, chosen, "Wh1sk-Otter-Plume"]:
        assert pw.encode() not in blob
        assert pw.encode("utf-16-le") not in blob


@pytest.mark.skipif(not AS_ROOT, reason="privilege drop needs root")
def test_cli_as_root_leaves_only_service_user_files(instance):
    instance.add_ext("1003")
    instance.cli("ext", "list")
    uid = service_uid()
    for root, dirs, files in os.walk(instance.dir):
        for n in dirs + files:
            assert os.lstat(os.path.join(root, n)).st_uid == uid, n


@pytest.mark.skipif(not AS_ROOT, reason="privilege drop needs root")
def test_instance_the_service_user_cannot_reach_is_reported(workdir):
    closed = os.path.join(workdir, "closed")
    os.mkdir(closed, 0o700)
    inst_dir = os.path.join(closed, "inst")
    p = run_cli(["init", "--dir", inst_dir, "--port", str(free_port())], check=True)
    assert "Warning: user 'ringfence' cannot reach" in p.stdout
    # The passwords are still the only lines shaped like credentials.
    assert [e for e, _ in re.findall(r"^\s*(\d+)\s+(\S+)\s*$", p.stdout, re.M)] == ["1001", "1002"]
    conf = os.path.join(inst_dir, "ringfence.conf")
    p = run_cli(["ext", "list"], conf=conf)
    assert p.returncode == 0 and "1001" in p.stdout
    assert "cannot reach" in p.stderr and "running as root" in p.stderr
