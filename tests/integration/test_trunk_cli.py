"""`ringfence trunk|did|route ...` on a real instance.

Every command is run through the real binary and checked for its exit
status, its output, what it stored and its security event. Every refusal
is checked for a one-line error on stderr that names the field, a
non-zero status, nothing on stdout, and nothing stored (the list commands
and the database agree) or logged. The trunk password is checked never
to appear in any output, error or log line, whichever way it was given.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import BIN, cli_fails as fails, db_rows

PASSWORD = "Pr0vider-S3cret;with spaces"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def as_json(inst, *args):
    return json.loads(inst.cli(*args, "--json").stdout)


def table(out):
    """Rows of a text table as lists of cells (header first)."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]


def nothing_stored(inst):
    assert as_json(inst, "trunk", "list") == []
    assert as_json(inst, "did", "list") == []
    assert as_json(inst, "route", "list") == []
    for t in ("trunks", "trunk_ips", "dids", "routes"):
        assert db_rows(inst, f"SELECT count(*) FROM {t}") == [(0,)], t


def events(inst, prefix):
    return [e for e in inst.security_events() if re.search(rf" event={prefix}\w* ", e + " ")]


def add_trunk(inst, name="voipco", *extra):
    return inst.cli("trunk", "add", name, "--host", "sip.voipco.example", *extra)


# ---- help ----

def test_help_pages(instance):
    for group, cmds in (("trunk", ("add", "list", "show", "del")), ("did", ("add", "list", "del")),
                        ("route", ("add", "list", "del", "test"))):
        out = instance.cli(group, "--help").stdout
        for c in cmds:
            assert f"{group} {c}" in out
            page = instance.cli(group, c, "--help").stdout
            assert page.startswith(f"NAME\n    ringfence {group} {c} - ")
            for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXAMPLES", "EXIT STATUS"):
                assert f"\n{section}\n" in page, (group, c, section)
    add = instance.cli("trunk", "add", "--help").stdout
    for w in ("--register", "--password -", "never printed", "--max-calls", "default of 30",
              "0 removes the limit", "trunk_added", "--ip CIDR"):
        assert w in add, w
    route = instance.cli("help", "route", "add").stdout
    for w in ("0[1-9]XXXXXXXXX", "[1-5]", "one or more further digits",
              "zero or more further digits", "unclosed '[' at 2", "first match wins"):
        assert w in route, w
    main = instance.cli("help").stdout
    for c in ("trunk add", "did add", "route add", "route test"):
        assert c in main


# ---- trunk add ----

def test_trunk_add_ip_authenticated_with_defaults(instance):
    p = instance.cli("trunk", "add", "carrier", "--host", "203.0.113.10",
                     "--ip", "203.0.113.0/24", "--ip", "2001:DB8::/32")
    assert p.stdout == "trunk carrier added\n"
    assert p.stderr == ""
    t = as_json(instance, "trunk", "show", "carrier")
    assert {k: t[k] for k in ("name", "host", "port", "transport", "register", "username",
                              "password", "ips", "max_calls", "routes")} == {
        "name": "carrier", "host": "203.0.113.10", "port": 0, "transport": "udp",
        "register": False, "username": "", "password": "not set",
        "ips": ["203.0.113.0/24", "2001:db8::/32"], "max_calls": 30, "routes": 0}
    assert re.fullmatch(ISO, t["created"]) and t["updated"] == t["created"]
    ev = events(instance, "trunk_added")
    assert len(ev) == 1
    assert ev[0].endswith('SECURITY event=trunk_added trunk=carrier host="203.0.113.10"'
                          ' register=no by=cli'), ev[0]


def test_trunk_add_registering_every_option(instance):
    p = instance.cli("trunk", "add", "voip-uk_1", "--host", "SIP.VoipCo.Example", "--port", "5061",
                     "--transport", "tls", "--register", "--username", "acct-4471",
                     "--password", PASSWORD, "--max-calls", "0")
    assert p.stdout == "trunk voip-uk_1 added\n"
    t = as_json(instance, "trunk", "show", "voip-uk_1")
    assert (t["host"], t["port"], t["transport"], t["register"], t["username"], t["password"],
            t["max_calls"]) == ("sip.voipco.example", 5061, "tls", True, "acct-4471", "set", 0)
    # The password is kept for the digest client, exactly as given.
    assert db_rows(instance, "SELECT password FROM trunks") == [(PASSWORD,)]
    assert events(instance, "trunk_added")[0].endswith(
        'trunk=voip-uk_1 host="sip.voipco.example" register=yes by=cli')


def test_trunk_add_password_from_stdin(instance):
    p = instance.cli("trunk", "add", "voipco", "--host", "sip.voipco.example", "--register",
                     "--username", "4420", "--password", "-", input=PASSWORD + "\n")
    assert p.stdout == "trunk voipco added\n"
    assert PASSWORD not in p.stdout + p.stderr
    assert db_rows(instance, "SELECT password FROM trunks") == [(PASSWORD,)]
    # Without a line end, and with CRLF, the line is the password.
    instance.cli("trunk", "add", "b", "--host", "h.example", "--register", "--username", "u",
                 "--password", "-", input="abc")
    instance.cli("trunk", "add", "c", "--host", "h.example", "--register", "--username", "u",
                 "--password", "-", input="xyz\r\nignored\n")
    assert dict(db_rows(instance, "SELECT name, password FROM trunks")) == {
        "voipco": PASSWORD, "b": "abc", "c": "xyz"}


@pytest.mark.parametrize("stdin, message", [
    ("", "--password -: no password on standard input"),
    ("\n", "--password is empty"),
    ("p" * 129 + "\n", "--password is longer than 128 characters"),
    ("Secret\tWith-Tab\n", "--password contains a control character at position 7"),
])
def test_trunk_add_bad_password_from_stdin(instance, stdin, message):
    first = fails(instance, ["trunk", "add", "voipco", "--host", "h.example", "--register",
                             "--username", "u", "--password", "-"], 1, message, input=stdin)
    assert "Secret" not in first
    nothing_stored(instance)
    assert events(instance, "trunk_") == []


def _pty_run(args, script):
    """Run args on a new terminal; `script(master)` types. Returns what the
    terminal showed, the exit status, and whether echo was on afterwards."""
    master, slave = pty.openpty()
    p = subprocess.Popen([BIN] + args, stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True)
    shown = b""

    def read(secs):
        nonlocal shown
        end = time.time() + secs
        while time.time() < end:
            r, _, _ = select.select([master], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                shown += chunk
                if b"trunk password: " in shown and script:
                    return
    try:
        read(5)
        script(master, p)
        p.wait(timeout=10)
        read(0.3)
        echo = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
    finally:
        if p.poll() is None:
            p.kill()
        os.close(master)
        os.close(slave)
    return shown.decode(errors="replace"), p.returncode, echo


def test_trunk_password_from_a_terminal_is_not_echoed(instance):
    def type_password(master, p):
        os.write(master, (PASSWORD + "\n").encode())

    shown, rc, echo = _pty_run(["-c", instance.conf, "trunk", "add", "voipco", "--host",
                                "h.example", "--register", "--username", "u", "--password",
                                "-"], type_password)
    assert rc == 0, shown
    assert "trunk password: " in shown
    assert "trunk voipco added" in shown
    assert PASSWORD not in shown
    assert echo, "echo was left off"
    assert db_rows(instance, "SELECT password FROM trunks") == [(PASSWORD,)]


def test_trunk_password_prompt_interrupted_restores_echo(instance):
    def interrupt(master, p):
        os.write(master, b"half-typed")
        time.sleep(0.2)
        os.killpg(p.pid, signal.SIGINT)

    shown, rc, echo = _pty_run(["-c", instance.conf, "trunk", "add", "voipco", "--host",
                                "h.example", "--register", "--username", "u", "--password",
                                "-"], interrupt)
    assert rc == -signal.SIGINT
    assert "half-typed" not in shown
    assert echo, "Ctrl-C left the terminal without echo"
    nothing_stored(instance)


@pytest.mark.parametrize("args, status, message", [
    # NAME
    (["trunk", "add", "my trunk", "--host", "h.example"], 2,
     "trunk name 'my trunk': a space at 3 is not allowed: use letters, digits, '-' and '_'"),
    (["trunk", "add", "a.b", "--host", "h.example"], 2, "trunk name 'a.b': '.' at 2 is not allowed"),
    (["trunk", "add", "n" * 33, "--host", "h.example"], 2, "trunk name is longer than 32 characters"),
    (["trunk", "add", "", "--host", "h.example"], 2, "trunk name is empty"),
    (["trunk", "add"], 2, "missing argument NAME"),
    # --host
    (["trunk", "add", "t"], 2, "--host is required: give the provider's DNS name or IP address"),
    (["trunk", "add", "t", "--host", ""], 2, "--host is empty"),
    (["trunk", "add", "t", "--host", "sip.example.net:5060"], 2,
     "--host 'sip.example.net:5060' has a port: give the port with --port"),
    (["trunk", "add", "t", "--host", "sip:sip.example.net"], 2, "is a URI: give the host name or address alone"),
    (["trunk", "add", "t", "--host", "203.0.113.0/24"], 2, "is a network"),
    (["trunk", "add", "t", "--host", "1.2.3.256"], 2, "--host '1.2.3.256' is not a valid IPv4 address"),
    (["trunk", "add", "t", "--host", "sip_x.example"], 2,
     "--host 'sip_x.example': '_' at 4 is not allowed in a DNS name"),
    (["trunk", "add", "t", "--host", "a..example"], 2, "has an empty label at 3"),
    (["trunk", "add", "t", "--host", "0.0.0.0"], 2, "--host '0.0.0.0' is the unspecified address"),
    (["trunk", "add", "t", "--host", "h" * 254], 2, "--host is longer than 253 characters"),
    (["trunk", "add", "t", "--host", "evil\x1b[2J.example"], 2, "--host 'evil?[2J.example'"),
    # --port, --transport, --max-calls
    (["trunk", "add", "t", "--host", "h.example", "--port", "0"], 2,
     "--port: '0' is not a whole number from 1 to 65535"),
    (["trunk", "add", "t", "--host", "h.example", "--port", "65536"], 2, "--port: '65536'"),
    (["trunk", "add", "t", "--host", "h.example", "--port", "50x"], 2, "--port: '50x'"),
    (["trunk", "add", "t", "--host", "h.example", "--transport", "sctp"], 2,
     "--transport 'sctp' is not a transport: use udp, tcp or tls"),
    (["trunk", "add", "t", "--host", "h.example", "--transport", "UDP"], 2, "--transport 'UDP'"),
    (["trunk", "add", "t", "--host", "h.example", "--max-calls", "10001"], 2,
     "--max-calls: '10001' is not a whole number from 0 to 10000"),
    (["trunk", "add", "t", "--host", "h.example", "--max-calls", "-1"], 2, "--max-calls: '-1'"),
    # credentials
    (["trunk", "add", "t", "--host", "h.example", "--username", "u"], 2,
     "--username without --register: the credentials are used only to register"),
    (["trunk", "add", "t", "--host", "h.example", "--password", PASSWORD], 2,
     "--password without --register"),
    (["trunk", "add", "t", "--host", "h.example", "--register"], 2,
     "--register needs --username and --password"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--username", "u"], 2,
     "--register needs --username and --password"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--password", PASSWORD], 2,
     "--register needs --username and --password"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--username", "a b",
      "--password", PASSWORD], 2, "--username: a space at 2 is not allowed"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--username", "u" * 65,
      "--password", PASSWORD], 2, "--username is longer than 64 characters"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--username", "u",
      "--password", ""], 2, "--password is empty"),
    (["trunk", "add", "t", "--host", "h.example", "--register", "--username", "u",
      "--password", "p" * 129], 2, "--password is longer than 128 characters"),
    # --ip
    (["trunk", "add", "t", "--host", "h.example", "--ip", "10.0.0.1/8"], 2,
     "--ip '10.0.0.1/8': host bits set beyond /8: did you mean 10.0.0.0/8?"),
    (["trunk", "add", "t", "--host", "h.example", "--ip", "example.com"], 2, "--ip 'example.com': "),
    (["trunk", "add", "t", "--host", "h.example", "--ip", "10.0.0.0/8", "--ip", "10.0.0.0/8"], 2,
     "--ip '10.0.0.0/8' is given twice"),
    (["trunk", "add", "t", "--host", "h.example"] + [a for i in range(17) for a in ("--ip", f"10.0.{i}.0/24")],
     2, "--ip given 17 times: a trunk has at most 16 addresses"),
    # the command line itself
    (["trunk", "add", "t", "--host", "h.example", "--hots", "x"], 2, "unknown option '--hots'"),
    (["trunk", "add", "t", "--host", "h.example", "--port", "5060", "--port", "5061"], 2,
     "option '--port' given more than once"),
])
def test_trunk_add_refusals_store_nothing(instance, args, status, message):
    first = fails(instance, args, status, message)
    assert PASSWORD not in first
    nothing_stored(instance)
    assert events(instance, "trunk_") == []


def test_trunk_add_sixteen_addresses_and_order(instance):
    ips = [f"10.0.{i}.0/24" for i in range(15, -1, -1)]
    instance.cli("trunk", "add", "t", "--host", "h.example", *[a for ip in ips for a in ("--ip", ip)])
    assert as_json(instance, "trunk", "show", "t")["ips"] == ips
    assert [r[0] for r in db_rows(instance, "SELECT cidr FROM trunk_ips ORDER BY pos")] == ips


def test_trunk_add_duplicate(instance):
    add_trunk(instance)
    before = db_rows(instance, "SELECT * FROM trunks")
    # Refused before standard input is read: the password is never asked for.
    fails(instance, ["trunk", "add", "voipco", "--host", "other.example", "--register",
                     "--username", "u", "--password", "-"], 1, "trunk voipco already exists",
          input=PASSWORD + "\n")
    assert db_rows(instance, "SELECT * FROM trunks") == before
    assert len(events(instance, "trunk_added")) == 1


# ---- trunk list, show, del ----

def test_trunk_list_text_and_json(instance):
    p = instance.cli("trunk", "list")
    assert table(p.stdout) == [["NAME", "HOST", "PORT", "TRANSPORT", "REGISTER", "USERNAME",
                                "PASSWORD", "IPS", "MAX-CALLS", "ROUTES", "STATE", "EXPIRES"],
                               ["no trunks"]]
    assert as_json(instance, "trunk", "list") == []
    instance.cli("trunk", "add", "zeta", "--host", "z.example", "--register", "--username", "u9",
                 "--password", PASSWORD, "--transport", "tcp")
    instance.cli("trunk", "add", "alpha", "--host", "192.0.2.1", "--ip", "192.0.2.0/24",
                 "--ip", "198.51.100.7", "--max-calls", "5", "--port", "5070")
    rows = table(instance.cli("trunk", "list").stdout)
    assert rows[1:] == [
        ["alpha", "192.0.2.1", "5070", "udp", "no", "-", "not set",
         "192.0.2.0/24,198.51.100.7/32", "5", "0", "off", "-"],
        ["zeta", "z.example", "0", "tcp", "yes", "u9", "set", "-", "30", "0", "off", "-"]]
    js = as_json(instance, "trunk", "list")
    assert [t["name"] for t in js] == ["alpha", "zeta"]
    assert js[1]["password"] == "set" and js[0]["password"] == "not set"


def test_trunk_show(instance):
    add_trunk(instance, "voipco", "--register", "--username", "4420", "--password", PASSWORD)
    out = instance.cli("trunk", "show", "voipco").stdout
    assert "name: voipco\n" in out
    assert "host: sip.voipco.example\n" in out
    assert "password: set\n" in out
    assert "register: yes\n" in out
    fails(instance, ["trunk", "show", "nope"], 1, "trunk nope does not exist")
    fails(instance, ["trunk", "show", "no pe"], 2, "trunk name 'no pe': a space at 3")


def test_trunk_del(instance):
    add_trunk(instance, "voipco", "--ip", "203.0.113.0/24")
    p = instance.cli("trunk", "del", "voipco")
    assert p.stdout == "trunk voipco removed\n"
    nothing_stored(instance)
    assert events(instance, "trunk_removed")[0].endswith(
        "SECURITY event=trunk_removed trunk=voipco by=cli")
    fails(instance, ["trunk", "del", "voipco"], 1, "trunk voipco does not exist")
    fails(instance, ["trunk", "del", "a/b"], 2, "trunk name 'a/b': '/' at 2 is not allowed")


def test_trunk_del_refused_while_routes_use_it(instance):
    add_trunk(instance, "voipco")
    add_trunk(instance, "other")
    instance.cli("route", "add", "--match", "999", "--trunk", "voipco")
    instance.cli("route", "add", "--match", "00.", "--trunk", "other")
    instance.cli("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "voipco")
    fails(instance, ["trunk", "del", "voipco"], 1,
          "trunk voipco is used by routes 1 (999), 3 (0[1-9]XXXXXXXXX): delete those routes "
          "first (ringfence route del POS)")
    assert [t["name"] for t in as_json(instance, "trunk", "list")] == ["other", "voipco"]
    assert as_json(instance, "trunk", "show", "voipco")["routes"] == 2
    instance.cli("route", "del", "3")
    fails(instance, ["trunk", "del", "voipco"], 1,
          "trunk voipco is used by route 1 (999): delete that route first")
    instance.cli("route", "del", "1")
    instance.cli("trunk", "del", "voipco")
    assert [t["name"] for t in as_json(instance, "trunk", "list")] == ["other"]
    assert len(events(instance, "trunk_removed")) == 1


# ---- the password never shows ----

def test_password_never_appears_in_any_output(instance):
    outputs = []

    def run(*args, **kw):
        p = instance.cli(*args, check=False, **kw)
        outputs.append(p.stdout + p.stderr)
        return p

    run("trunk", "add", "voipco", "--host", "sip.voipco.example", "--register", "--username",
        "4420", "--password", PASSWORD)
    run("trunk", "add", "other", "--host", "h.example", "--register", "--username", "4421",
        "--password", "-", input=PASSWORD + "\n")
    run("trunk", "add", "voipco", "--host", "x.example", "--register", "--username", "u",
        "--password", PASSWORD)                                     # a duplicate
    run("trunk", "add", "bad", "--host", "h.example", "--register", "--username", "a b",
        "--password", PASSWORD)                                     # a bad username
    run("trunk", "add", "bad", "--host", "h.example", "--password", PASSWORD)
    run("route", "add", "--match", "0.", "--trunk", "voipco")
    for args in (("trunk", "list"), ("trunk", "show", "voipco"), ("trunk", "show", "other"),
                 ("route", "list"), ("route", "test", "0123"), ("did", "list"),
                 ("ext", "list"), ("check-config",), ("reg", "list"), ("cdr", "list")):
        run(*args)
        if args[0] in ("trunk", "route", "did", "ext", "reg", "cdr"):
            run(*args, "--json")
    run("trunk", "del", "voipco")
    run("route", "del", "1")
    run("trunk", "del", "voipco")
    assert len(outputs) > 20
    for out in outputs:
        assert PASSWORD not in out
        assert "Pr0vider" not in out
    with open(instance.seclog) as f:
        log = f.read()
    assert "trunk_added" in log and PASSWORD not in log and "Pr0vider" not in log


# ---- did ----

def test_did_add_list_del(instance):
    p = instance.cli("did", "add", "+441632960000", "--ext", "1001")
    assert p.stdout == "DID +441632960000 goes to extension 1001\n"
    instance.cli("did", "add", "+12025550123", "--ext", "1002")
    instance.cli("did", "add", "+441632960001", "--ext", "1001")
    rows = table(instance.cli("did", "list").stdout)
    assert rows[0] == ["NUMBER", "EXTENSION", "CREATED"]
    assert [r[:2] for r in rows[1:]] == [["+12025550123", "1002"], ["+441632960000", "1001"],
                                        ["+441632960001", "1001"]]
    assert re.fullmatch(ISO, rows[1][2])
    js = as_json(instance, "did", "list")
    assert js[0]["number"] == "+12025550123" and js[0]["ext"] == "1002"
    ev = events(instance, "did_added")
    assert ev[0].endswith('SECURITY event=did_added number=+441632960000 ext="1001" by=cli')
    p = instance.cli("did", "del", "+12025550123")
    assert p.stdout == "DID +12025550123 removed; it went to extension 1002\n"
    assert [d["number"] for d in as_json(instance, "did", "list")] == ["+441632960000",
                                                                       "+441632960001"]
    assert events(instance, "did_removed")[0].endswith(
        'event=did_removed number=+12025550123 ext="1002" by=cli')
    fails(instance, ["did", "del", "+12025550123"], 1, "DID +12025550123 does not exist")
    # An extension that numbers ring is deleted only with --force, and its
    # numbers go with it.
    fails(instance, ["ext", "del", "1001"], 1, "extension 1001 is the destination of DIDs "
          "+441632960000, +441632960001")
    assert len(as_json(instance, "did", "list")) == 2
    instance.cli("ext", "del", "1001", "--force")
    assert as_json(instance, "did", "list") == []


def test_did_spellings_are_one_number(instance):
    p = instance.cli("did", "add", "01632 960000", "--ext", "1001")
    assert p.stdout == "DID +441632960000 goes to extension 1001\n"
    for spelling in ("+44 1632 960000", "0044 1632 960000", "(01632) 960-000", "+441632960000"):
        fails(instance, ["did", "add", spelling, "--ext", "1002"], 1,
              "DID +441632960000 already goes to extension 1001")
    instance.cli("did", "add", "+1 202 555 0123", "--ext", "1002")
    assert [(d["number"], d["ext"]) for d in as_json(instance, "did", "list")] == [
        ("+12025550123", "1002"), ("+441632960000", "1001")]
    assert db_rows(instance, "SELECT number FROM dids ORDER BY number") == [
        ("+12025550123",), ("+441632960000",)]
    p = instance.cli("did", "del", "0044 1632 960000")
    assert p.stdout == "DID +441632960000 removed; it went to extension 1001\n"
    assert [d["number"] for d in as_json(instance, "did", "list")] == ["+12025550123"]


def test_did_add_errors(instance):
    instance.cli("did", "add", "+441632960000", "--ext", "1001")
    fails(instance, ["did", "add", "+441632960000", "--ext", "1002"], 1,
          "DID +441632960000 already goes to extension 1001: delete it first "
          "(ringfence did del +441632960000)")
    fails(instance, ["did", "add", "+441632960001", "--ext", "4242"], 1,
          "extension 4242 does not exist")
    assert [(d["number"], d["ext"]) for d in as_json(instance, "did", "list")] == [
        ("+441632960000", "1001")]
    assert len(events(instance, "did_")) == 1


@pytest.mark.parametrize("args, message", [
    (["did", "add", "0800 FLOWERS", "--ext", "1001"], "NUMBER '0800 FLOWERS': letters"),
    (["did", "add", "+4416329600001234", "--ext", "1001"], "NUMBER '+4416329600001234': too long"),
    (["did", "add", "+999123456", "--ext", "1001"], "NUMBER '+999123456': unknown country code"),
    (["did", "add", "06123", "--ext", "1001"], "NUMBER '06123': not in the numbering plan"),
    (["did", "add", "+44 01632 960000", "--ext", "1001"],
     "NUMBER '+44 01632 960000': national prefix after the country code"),
    (["did", "add", "*67", "--ext", "1001"], "NUMBER '*67': a character that is not a digit"),
    (["did", "add", "999", "--ext", "1001"],
     "NUMBER '999' is an emergency number, which has no E.164 form and cannot be a DID"),
    (["did", "add", "118118", "--ext", "1001"], "NUMBER '118118' is a directory number"),
    (["did", "add", "", "--ext", "1001"],
     "NUMBER is empty: give the number, for example 01632 960000 or +441632960000"),
    (["did", "add", "01632\x1b[2J", "--ext", "1001"], "NUMBER '01632?[2J'"),
    (["did", "add", "+441632960000"], "--ext is required: give the extension the number rings"),
    (["did", "add", "+441632960000", "--ext", "10 01"], "--ext: extension contains a space at position 3"),
    (["did", "add", "+441632960000", "--ext", ""], "--ext: extension is empty"),
    (["did", "del", "0800 FLOWERS"], "NUMBER '0800 FLOWERS': letters"),
])
def test_did_bad_input_stores_nothing(instance, args, message):
    fails(instance, args, 2, message)
    nothing_stored(instance)
    assert events(instance, "did_") == []


# ---- route add ----

@pytest.mark.parametrize("pattern, message", [
    ("0[1-9XX", "--match '0[1-9XX': unclosed '[' at 2"),
    ("0[]XXX", "--match '0[]XXX': empty set '[]' at 2 matches no digit"),
    ("0[5-1]X", "--match '0[5-1]X': backwards range '5-1' at 3 matches no digit: write '1-5'"),
    ("0[-5]", "'-' at 3 needs a digit on each side, as in [1-5]"),
    ("0[1X]", "'X' at 4 in a set: a set holds digits and ranges"),
    ("[1[2]]", "'[' at 3 inside another set: sets do not nest"),
    ("01]", "']' at 3 without an opening '['"),
    ("9.1", "'.' at 2 must be the last character: it stands for one or more further digits"),
    ("9!9", "'!' at 2 must be the last character"),
    ("44+1", "'+' at 3: a '+' may only be the first character"),
    ("0xx", "'x' at 2: write it in capitals, 'X'"),
    ("_0X.", "'_' at 1: leave it out"),
    ("0Y", "'Y' at 2 is not part of a pattern: use digits, X, Z, N, sets such as [1-5], "
           "a leading '+' and a final '.' or '!'"),
    ("*67.", "'*' at 1 is not part of a pattern"),
    ("0 1", "a space at 2 is not part of a pattern"),
    ("", "the pattern is empty"),
    ("+", "the pattern matches no digit"),
    ("!", "the pattern matches no digit"),
    ("X" * 33, "the pattern needs at least 33 characters, but a dialled number has at most 32: "
               "it can never match"),
    ("1" * 65, "the pattern is longer than 64 characters"),
])
def test_route_add_refuses_bad_patterns(instance, pattern, message):
    add_trunk(instance)
    first = fails(instance, ["route", "add", "--match", pattern, "--trunk", "voipco"], 2, message)
    assert first.startswith("ringfence: route add: --match ")
    assert as_json(instance, "route", "list") == []
    assert events(instance, "route_") == []


@pytest.mark.parametrize("extra, status, message", [
    (["--match", "0."], 2, "--trunk is required: give the trunk the calls leave by"),
    (["--trunk", "voipco"], 2, "--match is required: give the pattern of the numbers"),
    (["--match", "0.", "--trunk", "no pe"], 2, "--trunk: trunk name 'no pe': a space at 3"),
    (["--match", "0.", "--trunk", "nope"], 1, "trunk nope does not exist (see ringfence trunk list)"),
    (["--match", "9.", "--trunk", "voipco", "--strip", "3"], 2,
     "--strip 3 removes more than the 2 characters of the shortest number the pattern matches"),
    (["--match", "9.", "--trunk", "voipco", "--strip", "2"], 2,
     "--strip 2 with no prepend leaves nothing to send"),
    (["--match", "9.", "--trunk", "voipco", "--strip", "33"], 2,
     "--strip: '33' is not a whole number from 0 to 32"),
    (["--match", "9.", "--trunk", "voipco", "--strip", "x"], 2, "--strip: 'x'"),
    (["--match", "+.", "--trunk", "voipco", "--prepend", "00"], 2,
     "--prepend '00' would stand before the number's '+': strip the '+' too (strip 1 or more)"),
    (["--match", "0.", "--trunk", "voipco", "--strip", "1", "--prepend", "4+4"], 2,
     "--prepend: '+' at 2 is not a digit (a '+' may only come first)"),
    (["--match", "0.", "--trunk", "voipco", "--strip", "1", "--prepend", "44a"], 2,
     "--prepend: 'a' at 3 is not a digit"),
    (["--match", "0.", "--trunk", "voipco", "--prepend", "1" * 17], 2,
     "--prepend is longer than 16 characters"),
    (["--match", "0.", "--trunk", "voipco", "--pos", "0"], 2, "--pos: '0' is not a whole number from 1 to 1000"),
    (["--match", "0.", "--trunk", "voipco", "--pos", "2"], 1,
     "--pos 2 is past the end: there are 0 routes, so give 1 to 1, or leave --pos out to append"),
])
def test_route_add_refusals_store_nothing(instance, extra, status, message):
    add_trunk(instance)
    fails(instance, ["route", "add", *extra], status, message)
    assert as_json(instance, "route", "list") == []
    assert db_rows(instance, "SELECT count(*) FROM routes") == [(0,)]
    assert events(instance, "route_") == []


def test_route_add_positions_and_list(instance):
    add_trunk(instance, "voipco")
    add_trunk(instance, "carrier")
    p = instance.cli("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "voipco",
                     "--strip", "1", "--prepend", "+44")
    assert p.stdout == "route 1 added: 0[1-9]XXXXXXXXX via trunk voipco\n"
    instance.cli("route", "add", "--match", "00.", "--trunk", "carrier", "--strip", "2",
                 "--prepend", "+")
    p = instance.cli("route", "add", "--match", "999", "--trunk", "voipco", "--pos", "1")
    assert p.stdout == "route 1 added: 999 via trunk voipco\n"
    instance.cli("route", "add", "--match", "+.", "--trunk", "carrier", "--pos", "3")
    rows = table(instance.cli("route", "list").stdout)
    assert rows == [["POS", "PATTERN", "TRUNK", "STRIP", "PREPEND"],
                    ["1", "999", "voipco", "0", "-"],
                    ["2", "0[1-9]XXXXXXXXX", "voipco", "1", "+44"],
                    ["3", "+.", "carrier", "0", "-"],
                    ["4", "00.", "carrier", "2", "+"]]
    js = as_json(instance, "route", "list")
    assert [(r["pos"], r["pattern"], r["trunk"], r["strip"], r["prepend"]) for r in js] == [
        (1, "999", "voipco", 0, ""), (2, "0[1-9]XXXXXXXXX", "voipco", 1, "+44"),
        (3, "+.", "carrier", 0, ""), (4, "00.", "carrier", 2, "+")]
    assert all(re.fullmatch(ISO, r["created"]) for r in js)
    # Past the end, and a pattern twice: refused, nothing moves.
    fails(instance, ["route", "add", "--match", "1.", "--trunk", "voipco", "--pos", "6"], 1,
          "--pos 6 is past the end: there are 4 routes, so give 1 to 5")
    fails(instance, ["route", "add", "--match", "00.", "--trunk", "voipco", "--pos", "1"], 1,
          "a route with pattern 00. exists already")
    assert as_json(instance, "route", "list") == js
    ev = events(instance, "route_added")
    assert len(ev) == 4
    assert ev[0].endswith('SECURITY event=route_added pos=1 pattern="0[1-9]XXXXXXXXX" '
                          'trunk=voipco strip=1 prepend=+44 by=cli'), ev[0]
    assert ev[2].endswith('event=route_added pos=1 pattern="999" trunk=voipco strip=0 '
                          'prepend=- by=cli'), ev[2]


def test_route_add_notes_routes_that_are_never_used(instance):
    add_trunk(instance)
    instance.cli("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "voipco")
    p = instance.cli("route", "add", "--match", "07XXXXXXXXX", "--trunk", "voipco")
    assert p.stdout == ("route 2 added: 07XXXXXXXXX via trunk voipco\n"
                        "note: route 1 (0[1-9]XXXXXXXXX) comes first and takes every number "
                        "this one matches, so this route is never used\n")
    p = instance.cli("route", "add", "--match", "0.", "--trunk", "voipco", "--pos", "1")
    assert p.stdout.splitlines()[1:] == [
        "note: route 2 (0[1-9]XXXXXXXXX) now comes after this one, which takes every number "
        "it matches, so it is no longer used",
        "note: route 3 (07XXXXXXXXX) now comes after this one, which takes every number it "
        "matches, so it is no longer used"]
    p = instance.cli("route", "add", "--match", "00.", "--trunk", "voipco", "--pos", "1")
    assert p.stdout == "route 1 added: 00. via trunk voipco\n"


# ---- route del ----

def test_route_del_moves_later_routes_up(instance):
    add_trunk(instance)
    for pat in ("1.", "2.", "3.", "4."):
        instance.cli("route", "add", "--match", pat, "--trunk", "voipco")
    p = instance.cli("route", "del", "2")
    assert p.stdout == "route 2 removed: 2. via trunk voipco; the routes after it moved up by one\n"
    assert [(r["pos"], r["pattern"]) for r in as_json(instance, "route", "list")] == [
        (1, "1."), (2, "3."), (3, "4.")]
    assert instance.cli("route", "del", "3").stdout == "route 3 removed: 4. via trunk voipco\n"
    assert events(instance, "route_removed")[0].endswith(
        'SECURITY event=route_removed pos=2 pattern="2." trunk=voipco by=cli')
    fails(instance, ["route", "del", "3"], 1, "there is no route at position 3: the routes are 1 to 2")
    fails(instance, ["route", "del", "0"], 2, "POS: '0' is not a whole number from 1 to 1000")
    fails(instance, ["route", "del", "x"], 2, "POS: 'x' is not a whole number")
    fails(instance, ["route", "del"], 2, "missing argument POS")
    instance.cli("route", "del", "1")
    instance.cli("route", "del", "1")
    fails(instance, ["route", "del", "1"], 1, "there is no route at position 1: there are no routes")
    assert len(events(instance, "route_removed")) == 4


# ---- route test ----

def test_route_test_first_match_and_rewrite(instance):
    add_trunk(instance, "voipco")
    add_trunk(instance, "carrier")
    for args in (("--match", "999", "--trunk", "voipco"),
                 ("--match", "07XXXXXXXXX", "--trunk", "carrier", "--strip", "1", "--prepend", "+44"),
                 ("--match", "0[1-9]XXXXXXXXX", "--trunk", "voipco", "--strip", "1", "--prepend", "44"),
                 ("--match", "00.", "--trunk", "carrier", "--strip", "2", "--prepend", "+"),
                 ("--match", "+.", "--trunk", "carrier")):
        instance.cli("route", "add", *args)
    cases = {
        "999": (1, "999", "voipco", "999"),
        "07700900123": (2, "07XXXXXXXXX", "carrier", "+447700900123"),
        "01632960000": (3, "0[1-9]XXXXXXXXX", "voipco", "441632960000"),
        "0097212345678": (4, "00.", "carrier", "+97212345678"),
        "+441632960000": (5, "+.", "carrier", "+441632960000"),
    }
    for number, (pos, pattern, trunk, send) in cases.items():
        js = as_json(instance, "route", "test", number)
        assert js == {"number": number, "route": pos, "pattern": pattern, "trunk": trunk,
                      "send": send}, number
    out = instance.cli("route", "test", "01632960000").stdout
    assert out == ("number: 01632960000\nroute: 3\npattern: 0[1-9]XXXXXXXXX\ntrunk: voipco\n"
                   "send: 441632960000\n")
    fails(instance, ["route", "test", "0163296000"], 1,
          "no route matches 0163296000: such a call goes nowhere")
    fails(instance, ["route", "test", "1234"], 1, "no route matches 1234")
    fails(instance, ["route", "test", "12a"], 2, "NUMBER '12a': 'a' at 3 is not a digit")
    fails(instance, ["route", "test", "*67"], 2, "NUMBER '*67': '*' at 1 is not a digit")
    fails(instance, ["route", "test", "1" * 33], 2, "is longer than 32 characters")


def test_route_test_without_routes(instance):
    fails(instance, ["route", "test", "999"], 1, "no route matches 999")
    p = instance.cli("route", "list")
    assert table(p.stdout) == [["POS", "PATTERN", "TRUNK", "STRIP", "PREPEND"],
                               ["no routes: no call leaves by a trunk"]]
