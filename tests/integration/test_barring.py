"""Call barring against the real daemon (S11): every number an extension
dials that is not an extension is normalised with the UK plan, classified,
and barred or let through by the extension's class of service; emergency
numbers always go through and always raise an alert.

There is no trunk in these instances, so a number that passes barring is
answered 404 with the CDR's hangup `no_route`, while a barred one gets 403,
hangup `barred` and a `call_barred` event: the two answers tell the
verdicts apart. The CDR carries the normalised number and its class."""
import json
import sqlite3
import time

import pytest

from sipcall import Phone, cdr_list, configure, make_sdp
from sipua import wait_until
from smtpsink import SmtpSink

CALLER_IP = "127.0.12.1"


@pytest.fixture
def pbx(instance):
    configure(instance, ports=16)
    inst = instance.start()
    phone = Phone(inst, "1001", ip=CALLER_IP)
    phone.register()
    yield inst, phone
    phone.conn.close()


def dial(phone, number):
    """The final status of an authenticated INVITE to `number`."""
    call = phone.call(number, make_sdp(phone.ip, 40000))
    final = call.wait_final(timeout=5.0)
    assert final is not None, number
    return final.status


def barred_events(inst, number=None):
    lines = inst.security_events("call_barred")
    return [l for l in lines if number is None or f' number="{number}"' in l
            or f" number={number}" in l]


def show(inst, ext):
    data = json.loads(inst.cli("ext", "show", ext, "--json").stdout)
    return data[0] if isinstance(data, list) else data


def raw_cdrs(inst):
    return [r["raw"] for r in cdr_list(inst)]


def last_cdr(inst, count):
    assert wait_until(lambda: len(raw_cdrs(inst)) >= count, 5), raw_cdrs(inst)
    return raw_cdrs(inst)[-1]


# Ofcom's ranges for drama and other fiction, and real-format numbers of
# each class: none of them rings anyone.
BARRED_BY_DEFAULT = [
    ("09098790123", "+449098790123", "premium"),
    ("07000123456", "+447000123456", "personal"),
    ("118118", "118118", "directory"),
    ("08712345678", "+448712345678", "service"),
    ("08442345678", "+448442345678", "service"),
    ("+33142685300", "+33142685300", "international"),
    ("0033142685300", "+33142685300", "international"),
]

ALLOWED_BY_DEFAULT = [
    ("01632960123", "+441632960123", "geographic"),
    ("020 7946 0123", "+442079460123", "geographic"),
    ("+441632960124", "+441632960124", "geographic"),
    ("07700900123", "+447700900123", "mobile"),
    ("03069990123", "+443069990123", "nongeographic"),
    ("08081570123", "+448081570123", "freephone"),
]


def test_national_default_bars_costly_classes_and_abroad(pbx):
    inst, phone = pbx
    for n, (dialled, e164, cls) in enumerate(BARRED_BY_DEFAULT, 1):
        assert dial(phone, dialled.replace(" ", "")) == 403, dialled
        ev = barred_events(inst, e164)
        assert ev and f" class={cls}" in ev[-1] and " reason=class" in ev[-1], (dialled, ev)
        assert " ext=\"1001\"" in ev[-1] or " ext=1001" in ev[-1], ev[-1]
        cdr = last_cdr(inst, n)
        assert (cdr["result"], cdr["hangup"]) == (403, "barred"), cdr
        assert (cdr["e164"], cdr["class"], cdr["direction"]) == (e164, cls, "outbound"), cdr


def test_national_default_lets_the_country_through(pbx):
    inst, phone = pbx
    for n, (dialled, e164, cls) in enumerate(ALLOWED_BY_DEFAULT, 1):
        assert dial(phone, dialled.replace(" ", "")) == 404, dialled
        cdr = last_cdr(inst, n)
        assert (cdr["hangup"], cdr["e164"], cdr["class"]) == ("no_route", e164, cls), cdr
    assert not barred_events(inst)


def test_letters_and_unknown_numbers_are_not_numbers(pbx):
    inst, phone = pbx
    for dialled in ("0163296012x", "01632", "1999", "00999123"):
        assert dial(phone, dialled) == 404, dialled
        cdr = last_cdr(inst, 1)
        assert cdr["hangup"] == "invalid", (dialled, cdr)
    assert not barred_events(inst)


def test_allow_lets_one_barred_class_through(pbx):
    inst, phone = pbx
    inst.cli("ext", "set", "1001", "--allow", "premium")
    assert wait_until(lambda: dial(phone, "09098790123") == 404, 3)
    assert dial(phone, "118118") == 403
    assert dial(phone, "07000123456") == 403


def test_international_needs_the_class_and_the_country(pbx):
    inst, phone = pbx
    inst.cli("ext", "set", "1001", "--cos", "international", "--countries", "FR,IE")
    assert wait_until(lambda: dial(phone, "0033142685300") == 404, 3)
    assert dial(phone, "+353212345678") == 404
    assert dial(phone, "+972501234567") == 403
    ev = barred_events(inst, "+972501234567")
    assert ev and " reason=country" in ev[-1] and " country=IL" in ev[-1], ev
    # Premium stays barred for an international extension too.
    assert dial(phone, "09098790123") == 403


def test_caribbean_numbers_are_their_own_countries(pbx):
    """+1 876 is Jamaica, a favourite of fraudsters, not the US."""
    inst, phone = pbx
    inst.cli("ext", "set", "1001", "--cos", "international", "--countries", "US")
    assert wait_until(lambda: dial(phone, "+12025550123") == 404, 3), "the change took"
    assert dial(phone, "0018765550123") == 403
    ev = barred_events(inst, "+18765550123")
    assert ev and " country=JM" in ev[-1] and " reason=country" in ev[-1], ev


def test_internal_class_reaches_nothing_outside_but_emergency(pbx, workdir):
    inst, phone = pbx
    inst.cli("ext", "set", "1001", "--cos", "internal")
    assert wait_until(lambda: dial(phone, "01632960123") == 403, 3)
    # No trunk carries it here: 503, but never a barring.
    assert dial(phone, "999") == 503
    ev = inst.security_events("emergency_call")
    assert ev and (' number="999"' in ev[-1] or " number=999" in ev[-1]), ev
    assert not barred_events(inst, "999")


def test_every_emergency_call_is_alerted_by_email(instance):
    sink = SmtpSink().start()
    try:
        configure(instance, ports=16,
                  alerts={"smtp_url": f"smtp://127.0.0.1:{sink.port}",
                          "mail_from": "pbx@example.org", "mail_to": "admin@example.org",
                          "rate_limit": 1})
        inst = instance.start()
        phone = Phone(inst, "1001", ip=CALLER_IP)
        phone.register()
        # More than the rate limit allows of any other kind.
        for number in ("999", "112", "999"):
            assert dial(phone, number) == 503
        assert wait_until(lambda: len(sink.of_kind("emergency_call")) == 3, 15), sink.mails
        subject = sink.of_kind("emergency_call")[0][2]["Subject"]
        assert "1001" in subject and "999" in subject, subject
        phone.conn.close()
    finally:
        sink.stop()


def suspend(inst, ext, why):
    """Suspend as calling-pattern analysis does: straight in the database."""
    db = sqlite3.connect(f"{inst.dir}/ringfence.db", timeout=10)
    with db:
        db.execute("UPDATE extensions SET suspended = 1, suspended_why = ? WHERE ext = ?",
                   (why, ext))
    db.close()


def test_a_suspended_extension_calls_only_emergency_until_resumed(pbx):
    inst, phone = pbx
    suspend(inst, "1001", "burst of calls at 03:00")
    assert wait_until(lambda: dial(phone, "01632960123") == 403, 3)
    ev = barred_events(inst, "+441632960123")
    assert ev and " reason=suspended" in ev[-1], ev
    assert dial(phone, "999") == 503
    rec = show(inst, "1001")
    assert rec["suspended"] is True and rec["suspended_why"] == "burst of calls at 03:00", rec
    out = inst.cli("ext", "resume", "1001")
    assert "resumed" in out.stdout
    assert wait_until(lambda: dial(phone, "01632960123") == 404, 3)
    again = inst.cli("ext", "resume", "1001", check=False)
    assert again.returncode == 1 and "not suspended" in again.stderr, again
    assert any(" ext=\"1001\"" in l or " ext=1001" in l
               for l in inst.security_events("ext_resumed"))


def test_policy_options_are_checked_and_nothing_partial_is_saved(instance):
    inst = instance
    bad = [
        (["--cos", "worldwide"], "--cos"),
        (["--allow", "premium,premium"], "--allow"),
        (["--allow", "international"], "--allow"),
        (["--allow", "premium,"], "--allow"),
        (["--countries", "XX"], "--countries"),
        (["--countries", "fr"], "--countries"),
        (["--countries", "FR,FR"], "--countries"),
        (["--caller-id", "0909879012"], "--caller-id"),
        (["--caller-id", "01632abc"], "--caller-id"),
        (["--cos", "international", "--countries", "FR,ZZ"], "--countries"),
    ]
    for args, opt in bad:
        p = inst.cli("ext", "set", "1001", *args, check=False)
        assert p.returncode == 2 and opt in p.stderr, (args, p.returncode, p.stderr)
    rec = show(inst, "1001")
    assert (rec["cos"], rec["countries"], rec["allow"], rec["caller_id"]) == \
        ("national", "", "", ""), rec
    p = inst.cli("ext", "add", "1077", "--cos", "internal", "--countries", "QQ", check=False)
    assert p.returncode == 2
    assert inst.cli("ext", "show", "1077", check=False).returncode == 1
    # Good values are normalised and shown.
    inst.cli("ext", "set", "1001", "--cos", "international", "--countries", "FR,DE",
             "--caller-id", "01632 960001", "--allow", "directory")
    rec = show(inst, "1001")
    assert (rec["cos"], rec["countries"], rec["allow"], rec["caller_id"]) == \
        ("international", "FR,DE", "directory", "+441632960001"), rec


def test_a_blacklisted_destination_is_refused_in_every_spelling(pbx):
    inst, phone = pbx
    inst.cli("ext", "set", "1001", "--cos", "international", "--countries", "IL,FR")
    assert wait_until(lambda: dial(phone, "+972501234567") == 404, 3), "the change took"
    inst.cli("blacklist", "add", "00972 5", "--reason", "fraud range seen elsewhere")
    for n, dialled in enumerate(("+972501234567", "00972501234567", "972501234567"), 1):
        assert wait_until(lambda: dial(phone, dialled) == 403, 3), dialled
        ev = barred_events(inst, "+972501234567")
        assert len(ev) >= n and " reason=blacklist" in ev[-1], ev
        assert "fraud range seen elsewhere" in ev[-1].replace("\\x20", " "), ev[-1]
    # Outside the listed prefix, the country is allowed.
    assert dial(phone, "+972212345678") == 404
    # Emergency numbers cannot be blacklisted away.
    p = inst.cli("blacklist", "add", "999", check=False)
    assert p.returncode != 0
    inst.cli("blacklist", "del", "+9725")
    assert wait_until(lambda: dial(phone, "+972501234567") == 404, 3)


def test_only_a_change_to_a_list_rebuilds_it(pbx):
    """Alerts and CDRs written by other connections move the database's
    data_version but not the change counters: the daemon rebuilds the
    directory (and a 100,000-entry blacklist) only when they changed."""
    inst, phone = pbx

    def reloads():
        return inst.daemon_output().count("directory reloaded")

    before = reloads()
    db = sqlite3.connect(f"{inst.dir}/ringfence.db", timeout=10)
    with db:
        db.execute("INSERT INTO cdr (caller, callee, call_id, start_ms, end_ms, result)"
                   " VALUES ('1001', '1002', 'x', 1, 2, 200)")
    db.close()
    time.sleep(1.0)
    assert reloads() == before, inst.daemon_output()[-2000:]
    inst.cli("ext", "set", "1001", "--name", "Reception")
    assert wait_until(lambda: reloads() == before + 1, 5), inst.daemon_output()[-2000:]
