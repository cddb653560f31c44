"""The fraud simulation of issue 5 (S11, S13, S14, S18), end to end on the
real daemon: credentials stolen from extension 1001 (class national, a
daily cap of 20 GBP) are used at 03:00 (the fraud clock moved by
RINGFENCE_CLOCK_OFFSET) from the attacker's own loopback address, to call
out over a trunk to a SIPp provider that requires registration with
digest and challenges every call.

In order:
- premium (09) and international numbers are barred: 403, a call_barred
  event, and nothing reaches the provider;
- a burst of 30 national calls within a minute is a critical anomaly and
  suspends 1001: the rest of the burst is refused, and `ext show` and
  `ext list` say so;
- the administrator's alert email reaches a local SMTP sink;
- the calls that did get out are answered by the provider and held. At
  the rates imported here they would cost far more than the cap by the
  time the provider hangs up; the cap ends them first, so the rated spend
  (`ringfence spend` and the sum of the call records' costs) stays within
  20 GBP;
- 999 still reaches the provider while 1001 is suspended.
"""
import json
import os
import re
import secrets
import time

import pytest

from sipcall import Phone, b2bua_available, cdr_list, make_sdp, wait_cdr
from sipua import wait_until
from smtpsink import SmtpSink
from test_barring import barred_events, dial, show
from test_calls_sipp import SIPP, free_udp_port, tail
from test_fraud_pattern import AREAS, offset_to_3am
from trunkpeer import PROVIDER_IP, provider_uas, trunk_pbx, wait_trunk_state

pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed"),
    pytest.mark.skipif(not b2bua_available(), reason="the daemon does not route calls"),
]

THIEF_IP = "127.0.14.1"
ACCOUNT = "acct-1001-fraud"
CAP = 20_000_000  # micro-GBP: 1001's daily cap
# What the provider charges. UK numbers cost 30.00 a minute and 0.50 a
# call: steep, so that the two calls 1001 may hold at once ([calls]
# max_calls_per_ext) pass the cap within seconds, while the provider holds
# an answered call for 45 seconds (uas-provider-auth.xml), when the two
# would cost 46.00. Premium and international numbers have rates too: if
# they were let out, they would be charged.
RATES = """prefix,price_per_minute,connection_charge,currency
+44,30.00,0.50,GBP
+44909,1.53,0.50,GBP
+33,0.08,0.015,GBP
+972,0.12,0.015,GBP
"""
HOLD_S = 45
BARRED = [("09098790123", "+449098790123", "premium"),
          ("0033142685300", "+33142685300", "international"),
          ("00972501234567", "+972501234567", "international")]
UTC = {"TZ": "UTC"}


def provider_invites(workdir):
    """Request-URI users of every INVITE the provider received so far."""
    path = os.path.join(workdir, "prov.msg")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        text = f.read()
    return re.findall(r"message received \[\d+\] bytes :\n\nINVITE sip:([^@\s]+)@", text)


def spend_row(inst, ext, period="day"):
    rows = json.loads(inst.cli("spend", "--json", env=UTC).stdout)
    found = [r for r in rows if (r["scope"], r["name"], r["period"]) == ("ext", ext, period)]
    assert len(found) == 1, rows
    return found[0]


def cost_micro(inst, number, seconds):
    out = inst.cli("rates", "lookup", number, "--duration", f"{seconds}s").stdout
    return int(re.search(r"^cost_micro: (\d+)$", out, re.M).group(1))


@pytest.fixture
def provider(workdir):
    """The provider's SIPp, running until the test ends; its account."""
    secret = "Pw-" + secrets.token_hex(8)
    port = free_udp_port(PROVIDER_IP)
    uas = provider_uas(workdir, "uas-provider-auth.xml", port,
                       ["-key", "user", ACCOUNT, "-key", "pass", secret], calls=None)
    time.sleep(0.3)  # SIPp binds its socket before the trunk registers
    yield port, secret
    if uas.poll() is None:
        uas.kill()
    uas.communicate()


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def pbx(instance, workdir, provider, sink):
    """1001 with a 20 GBP daily cap, a trunk registered with the provider,
    routes for 999, national and international numbers, and the rates,
    all set before the daemon starts at 03:00 on its fraud clock."""
    port, secret = provider
    rates = os.path.join(workdir, "rates.csv")
    with open(rates, "w") as f:
        f.write(RATES)
    inst = trunk_pbx(
        instance, port,
        trunk_args=("--register", "--username", ACCOUNT, "--password", secret),
        commands=[("ext", "set", "1001", "--cos", "national", "--daily-cap", "20"),
                  ("rates", "import", rates),
                  ("route", "add", "--match", "999", "--trunk", "prov"),
                  ("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov",
                   "--strip", "1", "--prepend", "+44"),
                  ("route", "add", "--match", "00.", "--trunk", "prov",
                   "--strip", "2", "--prepend", "+")],
        env={"RINGFENCE_CLOCK_OFFSET": str(offset_to_3am()), **UTC},
        ports=32, calls={"max_cps": 100},
        alerts={"smtp_url": f"smtp://127.0.0.1:{sink.port}",
                "mail_from": "pbx@example.org", "mail_to": "admin@example.org"})
    wait_trunk_state(inst, "registered")
    thief = Phone(inst, "1001", ip=THIEF_IP)
    thief.register()
    yield inst, thief
    thief.conn.close()


def test_stolen_credentials_at_night_are_barred_suspended_and_capped(pbx, workdir, sink):
    inst, thief = pbx
    rtp = free_udp_port(THIEF_IP)

    # 1. Premium and international numbers: barred, never sent out.
    for number, e164, cls in BARRED:
        assert dial(thief, number) == 403, number
        ev = barred_events(inst, e164)
        assert ev and f" class={cls}" in ev[-1], inst.security_events("call_barred")
    assert provider_invites(workdir) == [], tail(workdir, "prov")

    # 2. A burst of 30 national calls, as fast as the PBX answers. The
    # first two are answered and held (1001 may hold two calls at once);
    # the next are refused by that limit until the burst is critical, and
    # from then on every call is refused as from a suspended extension.
    numbers = [f"0{AREAS[i % len(AREAS)]}{i:04d}" for i in range(30)]
    answers, held = [], []
    started = time.monotonic()
    for number in numbers:
        call = thief.call(number, make_sdp(THIEF_IP, rtp))
        final = call.wait_final(10.0)
        answers.append(final.status)
        if final.status == 200:
            held.append(call)
    assert time.monotonic() - started < 60, "the burst must fit in a minute"
    assert answers[:2] == [200, 200] and len(held) == 2, answers
    suspended_at = answers.index(403)
    assert all(a == 403 for a in answers[suspended_at:]), answers
    ev = inst.security_events("fraud_anomaly")
    crit = [l for l in ev if " level=critical" in l and " action=suspended" in l]
    assert crit and " kind=calls_per_minute" in crit[0] and ' subject="1001"' in crit[0], ev
    refused = [l for l in inst.security_events("call_barred") if " reason=suspended" in l]
    assert len(refused) == len(answers) - suspended_at, (answers, refused)
    rec = show(inst, "1001")
    assert rec["suspended"] is True and "calls" in rec["suspended_why"], rec
    listed = json.loads(inst.cli("ext", "list", "--json").stdout)
    assert [e["suspended"] for e in listed if e["ext"] == "1001"] == [True], listed
    assert dial(thief, "01632960999") == 403, "later calls are refused too"

    # 3. The administrator is told, by email, why 1001 was suspended.
    def suspension_mail():
        return [m for m in sink.of_kind("fraud") if "suspended" in m[2]["Subject"]]
    assert wait_until(suspension_mail, 15), [m[2]["Subject"] for m in sink.mails]
    mail = suspension_mail()[0][2]
    assert "Critical" in mail["Subject"] and "extension 1001" in mail["Subject"], mail["Subject"]
    assert "admin@example.org" in str(mail["To"])
    assert "ringfence ext resume 1001" in mail.get_content()

    # 4. The two held calls: held to the end they would cost well over
    # the cap; the cap ends them first (BYE to the attacker, too).
    uncapped = sum(cost_micro(inst, n, HOLD_S) for n, a in zip(numbers, answers) if a == 200)
    assert uncapped > 2 * CAP, uncapped
    for call in held:
        call.answer_request("BYE", timeout=HOLD_S + 15)
    rows = wait_cdr(inst, 2, lambda r: r["caller"] == "1001" and r["result"] == 200, 10.0)
    assert len(rows) == 2, cdr_list(inst)
    day = spend_row(inst, "1001")
    assert day["cap_micro"] == CAP, day
    assert day["spent_micro"] <= CAP, (day, [r["raw"] for r in rows])
    # ... and only at the cap: the calls were charged until it was met.
    assert day["spent_micro"] >= CAP * 3 // 4, (day, [r["raw"] for r in rows])
    records = [r["raw"] for r in cdr_list(inst) if r["caller"] == "1001"]
    assert sum(r["cost_micro"] for r in records) == day["spent_micro"], records
    assert all(r["cost_micro"] > 0 for r in records if r["result"] == 200), records
    assert all(r["cost_micro"] == 0 for r in records if r["result"] != 200), records
    # It was 1001's daily cap that ended them, and the administrator is
    # told that the cap was met.
    assert [r["hangup"] for r in rows] == ["credit", "credit"], [r["raw"] for r in rows]
    ended = inst.security_events("credit_call_ended")
    assert len(ended) == 2 and all(' ext="1001"' in l and " scope=ext" in l and
                                   " period=day" in l for l in ended), ended
    assert wait_until(lambda: [m for m in sink.of_kind("credit")
                               if "100% of extension 1001's daily cap" in m[2]["Subject"]], 15), \
        [m[2]["Subject"] for m in sink.mails]

    # 5. 999 still reaches the provider, and 1001 stays suspended.
    call = thief.call("999", make_sdp(THIEF_IP, rtp))
    assert call.wait_final(10.0).status == 200
    assert wait_until(lambda: "999" in provider_invites(workdir), 5), tail(workdir, "prov")
    assert call.bye(timeout=10.0).status == 200
    assert inst.security_events("emergency_call")
    assert show(inst, "1001")["suspended"] is True

    # Nothing but the national calls let out and the emergency call ever
    # reached the provider (each INVITE twice: once more with the
    # trunk's credentials).
    let_out = {"+44" + n[1:] for n, a in zip(numbers, answers) if a == 200}
    assert set(provider_invites(workdir)) == let_out | {"999"}, provider_invites(workdir)
