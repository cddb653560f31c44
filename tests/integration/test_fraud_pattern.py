"""Calling-pattern analysis in the running daemon (S14), with stolen
credentials: extension 1001's password is used at 03:00 (the fraud clock
moved by RINGFENCE_CLOCK_OFFSET) for a burst of national calls. The burst
is a critical anomaly: 1001 is suspended, an alert email says why, 999
still goes through, premium numbers stay barred throughout, and
`ringfence ext resume` lets it call outside again.

There is no trunk here: a national number that passes barring and pattern
analysis is answered 404 (no route); once the extension is suspended the
same number gets 403. The difference is what the test watches."""
import time

from sipcall import Phone, configure
from sipua import wait_until
from smtpsink import SmtpSink
from test_barring import dial, show

THIEF_IP = "127.0.13.1"
# Ofcom's drama ranges in a dozen areas: a burst spread over them is a
# burst of calls, not a sweep of one range (that has a rule of its own).
AREAS = ("207946", "113496", "114496", "115496", "116496", "117496", "118496",
         "121496", "131496", "141496", "151496", "161496")


def offset_to_3am():
    """Seconds that move the daemon's local clock (UTC here, as the daemon
    runs) to 03:00 today."""
    now = time.time()
    t = time.gmtime(now)
    three = time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 3, 0, 0, 0, 0, 0)) - time.timezone
    return int(three - now)


def test_a_night_burst_on_stolen_credentials_suspends_the_extension(instance):
    sink = SmtpSink().start()
    try:
        configure(instance, ports=16,
                  calls={"max_cps": 100},
                  alerts={"smtp_url": f"smtp://127.0.0.1:{sink.port}",
                          "mail_from": "pbx@example.org", "mail_to": "admin@example.org"})
        inst = instance.start(extra_env={"RINGFENCE_CLOCK_OFFSET": str(offset_to_3am()),
                                         "TZ": "UTC"})
        thief = Phone(inst, "1001", ip=THIEF_IP)
        thief.register()
        answers = []
        for i in range(30):
            answers.append(dial(thief, f"0{AREAS[i % len(AREAS)]}{i:04d}"))
            if i % 5 == 0:
                assert dial(thief, "09098790123") == 403, "premium is barred throughout"
        # The first calls pass (no route here); once the burst is critical
        # the rest are refused as from a suspended extension.
        assert answers[0] == 404, answers
        assert 403 in answers, answers
        first_refused = answers.index(403)
        assert all(a == 403 for a in answers[first_refused:]), answers
        ev = inst.security_events("fraud_anomaly")
        crit = [l for l in ev if " level=critical" in l and " action=suspended" in l]
        assert crit and " kind=calls_per_minute" in crit[0], ev
        barred = [l for l in inst.security_events("call_barred") if " reason=suspended" in l]
        assert barred, inst.security_events("call_barred")
        rec = show(inst, "1001")
        assert rec["suspended"] is True and "calls" in rec["suspended_why"], rec
        # Emergency calls are never barred, suspended or not.
        assert dial(thief, "999") == 503
        assert inst.security_events("emergency_call")
        # A warning on the way up, then the critical one that suspended it.
        def suspension_mail():
            return [m for m in sink.of_kind("fraud") if "suspended" in m[2]["Subject"]]
        assert wait_until(suspension_mail, 15), [m[2]["Subject"] for m in sink.mails]
        assert "Critical" in suspension_mail()[0][2]["Subject"]
        assert "extension 1001" in suspension_mail()[0][2]["Subject"]
        # The suspension survives a restart ...
        thief.conn.close()
        inst.stop()
        inst.start(extra_env={"RINGFENCE_CLOCK_OFFSET": str(offset_to_3am()), "TZ": "UTC"})
        thief = Phone(inst, "1001", ip=THIEF_IP)
        thief.register()
        assert dial(thief, "01632960999") == 403
        # ... until the administrator resumes the extension.
        inst.cli("ext", "resume", "1001")
        assert wait_until(lambda: dial(thief, "01632960999") == 404, 5)
        thief.conn.close()
    finally:
        sink.stop()
