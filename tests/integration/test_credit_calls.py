"""Credit limits in the running daemon (S13): a SIPp provider answers
calls over a trunk; national calls are rated at 6.00 a minute plus 0.10
to connect, so one second of an answered call costs exactly 0.10 and
extension 1001's daily cap of 1.00 is passed in the tenth second.

The cap ends the live call at that moment, BYE on both legs, with the
cost in its record exactly the cap; thresholds alert on the way; the next
call is refused with 403 "Spending Cap Reached" and never reaches the
provider; 999 still goes out; and after a restart the spend comes back
from the records, so the cap still holds."""
import json
import os
import signal
import time

from sipcall import Phone, cdr_list, make_sdp, wait_cdr
from sipua import wait_until
from test_calls_sipp import finish, free_udp_port
from test_trunk_calls import PHONE_IP, EXT
from trunkpeer import PROVIDER_IP, provider_uas, received_invites, trunk_pbx

RATES = ("prefix,price_per_minute,connection_charge,currency\n"
         "+44,6.00,0.10,GBP\n")
NATIONAL = "01632960000"
UTC = {"TZ": "UTC"}


def capped_pbx(instance, workdir, port, cap="1", rates=RATES, **sections):
    path = os.path.join(workdir, "rates.csv")
    with open(path, "w") as f:
        f.write(rates)
    return trunk_pbx(instance, port, **sections, commands=[
        ("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov",
         "--strip", "1", "--prepend", "+44"),
        ("route", "add", "--match", "999", "--trunk", "prov"),
        ("rates", "import", path),
        ("ext", "set", EXT, "--daily-cap", cap)])


def spend_rows(inst):
    return json.loads(inst.cli("spend", "--json", env=UTC).stdout)


def row(rows, scope, name, period):
    return next(r for r in rows if (r["scope"], r["name"], r["period"]) == (scope, name, period))


def spend_row(inst, scope, name, period):
    return row(spend_rows(inst), scope, name, period)


def answered_call(phone, number=NATIONAL):
    call = phone.call(number, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
    final = call.wait_final(10.0)
    assert final.status == 200, final.text()
    return call


def hang_up(call, uas, workdir):
    """The phone ends an answered call; the provider must see the BYE."""
    ans = call.request("BYE", timeout=10.0)
    assert ans is not None and ans.status == 200, ans
    rc, log = finish(uas, workdir, "prov", 15)
    assert rc == 0, log


def stop(uas):
    if uas.poll() is None:
        uas.kill()
        uas.communicate()


def test_the_cap_ends_a_live_call_at_the_moment_it_would_be_passed(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    inst = capped_pbx(instance, workdir, port)
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)  # SIPp binds its sockets
        phone.register()
        answered_call(phone)
        answered_at = time.monotonic()
        # The phone is sent BYE by the PBX, not the other way round.
        bye = phone.expect_request("BYE", timeout=30.0)
        ended_after = time.monotonic() - answered_at
        phone.respond(bye, 200)
        rc, log = finish(uas, workdir, "prov", 15)  # the provider got its BYE too
        assert rc == 0, log
    finally:
        stop(uas)
    rows = wait_cdr(inst, 1, lambda r: r["hangup"] == "credit", timeout=10.0)
    assert rows, cdr_list(inst)
    raw = rows[0]["raw"]
    # Ended at the last second within the cap: the cost is the cap exactly.
    assert raw["cost"] == "1.00", raw
    assert 8 <= raw["duration_s"] <= 10, raw
    assert 7.0 <= ended_after < 25.0, ended_after
    ended = inst.security_events("credit_call_ended")
    assert ended and " scope=ext " in ended[0] and ' name="1001" ' in ended[0], ended
    assert " period=day " in ended[0] and ended[0].endswith(" cap=1.00"), ended
    thresholds = [l.split(" percent=")[1].split()[0]
                  for l in inst.security_events("credit_threshold") if ' name="1001" ' in l]
    assert thresholds[:3] == ["50", "80", "100"], inst.security_events("credit_threshold")
    day = spend_row(inst, "ext", EXT, "day")
    assert day["spent"] == "1.00" and day["reached"] is True, day

    # At the cap, the next chargeable call is refused and goes nowhere.
    call = phone.call(NATIONAL, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
    final = call.wait_final(10.0)
    assert final.status == 403, final.text()
    assert "Spending Cap Reached" in final.text().splitlines()[0], final.text()
    refused = inst.security_events("credit_refused")
    assert refused and ' name="1001" ' in refused[-1] and " period=day " in refused[-1], refused
    assert wait_cdr(inst, 1, lambda r: r["hangup"] == "credit" and r["result"] == 403)

    # 999 is never stopped by a cap.
    uas = provider_uas(workdir, "uas-provider.xml", port)
    try:
        time.sleep(0.5)
        call = answered_call(phone, "999")
        assert received_invites(workdir, "prov")[0].startswith("INVITE sip:999@")
        hang_up(call, uas, workdir)
    finally:
        stop(uas)
        phone.conn.close()

    # The spend is in the records: a restarted daemon still holds the cap.
    inst.stop()
    inst.start()
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        phone.register()
        call = phone.call(NATIONAL, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
        assert call.wait_final(10.0).status == 403
    finally:
        phone.conn.close()
    # Lifting the cap lets calls out again without a restart.
    inst.cli("ext", "set", EXT, "--daily-cap", "5")
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)
        phone.register()
        deadline = time.monotonic() + 10
        while True:
            call = phone.call(NATIONAL, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
            final = call.wait_final(10.0)
            if final.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert final.status == 200, final.text()
        hang_up(call, uas, workdir)
    finally:
        stop(uas)
        phone.conn.close()


def test_a_call_in_progress_counts_in_ringfence_spend(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    inst = capped_pbx(instance, workdir, port, cap="50")
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)
        phone.register()
        call = answered_call(phone)
        time.sleep(3.5)
        rows = spend_rows(inst)
        live = row(rows, "ext", EXT, "day")
        # 0.10 to connect and 0.10 a second: at least 3 seconds in.
        assert live["spent_micro"] >= 400_000 and live["live_calls"] == 1, live
        assert row(rows, "system", "", "day")["spent_micro"] == live["spent_micro"], rows
        assert row(rows, "trunk", "prov", "day")["spent_micro"] == live["spent_micro"], rows
        hang_up(call, uas, workdir)
    finally:
        stop(uas)
        phone.conn.close()
    rows = wait_cdr(inst, 1, lambda r: r["hangup"] == "caller", timeout=10.0)
    assert rows, cdr_list(inst)
    cost = rows[0]["raw"]["cost_micro"]
    ended = spend_row(inst, "ext", EXT, "day")
    # Once over, the call counts once: by its record, at its final cost.
    assert cost >= live["spent_micro"], (rows[0]["raw"], live)
    assert ended["spent_micro"] == cost, (ended, rows[0]["raw"])


UK_GEOGRAPHIC_ONLY = ("prefix,price_per_minute,connection_charge,currency\n"
                      "+441,6.00,0.10,GBP\n")
MOBILE = "07700900123"  # +447...: no rate matches it


def test_a_number_without_a_rate_passes_uncharged_by_default(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    inst = capped_pbx(instance, workdir, port, rates=UK_GEOGRAPHIC_ONLY)
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)
        phone.register()
        hang_up(answered_call(phone, MOBILE), uas, workdir)
    finally:
        stop(uas)
        phone.conn.close()
    rows = wait_cdr(inst, 1, lambda r: r["hangup"] == "caller", timeout=10.0)
    assert rows and rows[0]["raw"]["cost_micro"] == 0, cdr_list(inst)


def test_a_reload_applies_new_default_caps(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    inst = capped_pbx(instance, workdir, port, cap="default")  # [credit] ext_daily_cap
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)
        phone.register()
        hang_up(answered_call(phone), uas, workdir)  # within the default of 20
        # A default below one connection charge (0.10) refuses the next call.
        inst.set_conf("credit", "ext_daily_cap", "0.05")
        inst.set_conf("credit", "ext_monthly_cap", "0.05")
        inst.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: inst.security_events("config_changed"), 10)
        call = phone.call(NATIONAL, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
        final = call.wait_final(10.0)
        assert final.status == 403 and "Spending Cap Reached" in final.text(), final.text()
        refused = inst.security_events("credit_refused")
        assert refused and refused[-1].endswith(" cap=0.05"), refused
    finally:
        stop(uas)
        phone.conn.close()


def test_refuse_unrated_refuses_numbers_without_a_rate(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    inst = capped_pbx(instance, workdir, port, cap="50", rates=UK_GEOGRAPHIC_ONLY,
                      credit={"refuse_unrated": "true"})
    uas = provider_uas(workdir, "uas-provider.xml", port)
    phone = Phone(inst, EXT, ip=PHONE_IP)
    try:
        time.sleep(0.5)
        phone.register()
        call = phone.call(MOBILE, make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
        final = call.wait_final(10.0)
        assert final.status == 403, final.text()
        assert "Destination Not Rated" in final.text().splitlines()[0], final.text()
        refused = inst.security_events("credit_refused")
        assert refused and " reason=unrated" in refused[-1], refused
        assert '+447700900123' in refused[-1] and " scope=" not in refused[-1], refused
        assert wait_cdr(inst, 1, lambda r: r["hangup"] == "unrated" and r["result"] == 403)
        # A rated number and an emergency number still go out, to the provider.
        hang_up(answered_call(phone, NATIONAL), uas, workdir)
        assert received_invites(workdir, "prov")[0].startswith("INVITE sip:+441632960000@")
    finally:
        stop(uas)
        phone.conn.close()


def test_the_daemon_warns_while_the_rate_table_is_empty(instance):
    instance.start()
    assert "rate table is empty" in instance.daemon_output()
    instance.stop()
    path = os.path.join(instance.dir, "rates.csv")
    with open(path, "w") as f:
        f.write(RATES)
    instance.cli("rates", "import", path)
    before = len(instance.daemon_output())
    instance.start()
    assert "rate table is empty" not in instance.daemon_output()[before:]
