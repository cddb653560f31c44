"""Calls through the B2BUA against the real daemon: set-up with
authentication, topology hiding, the media relay's strict source, in-dialog
requests, failures, limits, the port pool and the CDR.

Phones are Python UAs on their own 127.x addresses; each registers from the
socket it then takes calls on, so the daemon's callee leg reaches it."""
import math
import re
import signal
import time

import pytest

from rtp import PACKET, RtpPeer, rtcp_sender_report, rtp_rtcp_pair, send_both_ways
from sipcall import (Phone, b2bua_available, cdr_export_csv, cdr_list, configure,
                     make_sdp, wait_cdr)
from sipua import wait_for_event, wait_until

pytestmark = pytest.mark.skipif(not b2bua_available(),
                                reason="the daemon does not route calls yet (INVITE answered 501)")

CALLER_IP, CALLEE_IP, THIRD_IP, SPOOF_IP = "127.0.0.2", "127.0.0.3", "127.0.0.77", "127.0.0.9"


class Rig:
    """A started instance with phones, RTP sockets and clean-up."""

    def __init__(self, inst):
        self.inst = inst
        self.phones, self.rtps = [], []

    def phone(self, ext, ip, register=True, **kw):
        p = Phone(self.inst, ext, ip=ip, **kw)
        self.phones.append(p)
        if register:
            p.register()
        return p

    def rtp(self, ip):
        r = RtpPeer(ip)
        self.rtps.append(r)
        return r

    def close(self):
        for r in self.rtps:
            r.close()
        for p in self.phones:
            p.conn.close()


@pytest.fixture
def rig(instance):
    made = []

    def make(ports=64, extra_ext=(), **sections):
        configure(instance, ports=ports, **sections)
        for ext in extra_ext:
            instance.passwords[ext] = instance.add_ext(ext)
        instance.start()
        r = Rig(instance)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def in_range(inst, port):
    lo, hi = inst.rtp_range
    return lo <= port <= hi


def establish(rig, caller_ext="1001", callee_ext="1002", caller_ip=CALLER_IP,
              callee_ip=CALLEE_IP, caller=None, callee=None, a_rtp=None, b_rtp=None):
    """A ringing-then-answered call with RTP sockets on both phones.
    Returns a dict with the phones, dialogs, RTP peers and relay ports."""
    caller = caller or rig.phone(caller_ext, caller_ip)
    callee = callee or rig.phone(callee_ext, callee_ip)
    a_rtp = a_rtp or rig.rtp(caller.ip)
    b_rtp = b_rtp or rig.rtp(callee.ip)
    call = caller.call(callee_ext, make_sdp(caller.ip, a_rtp.port))
    inc = callee.incoming()
    inc.ring(180)
    call.wait_provisional(180)
    inc.answer(make_sdp(callee.ip, b_rtp.port))
    final = call.wait_final()
    assert final.status == 200, final.text()
    b_sdp, a_sdp = inc.invite.sdp(), final.sdp()
    return {"caller": caller, "callee": callee, "call": call, "inc": inc, "a_rtp": a_rtp,
            "b_rtp": b_rtp, "a_relay": (a_sdp["addr"], a_sdp["port"]),
            "b_relay": (b_sdp["addr"], b_sdp["port"]), "final": final}


def hang_up_from_caller(c):
    """BYE from the caller; the callee answers the relayed BYE; the caller
    gets 200. Returns the BYE the callee received."""
    call, inc = c["call"], c["inc"]
    data = call.start_request("BYE")
    req = inc.answer_request("BYE")
    ans = call.finish_request(data)
    assert ans is not None and ans.status == 200, ans
    return req


# ---------------------------------------------------------------------------


def test_call_setup_hides_topology_and_relays_rtp_from_relay_only(rig):
    r = rig()
    inst = r.inst
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    a_rtp, b_rtp = r.rtp(CALLER_IP), r.rtp(CALLEE_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, a_rtp.port))
    assert call.challenge.status == 407, call.challenge.text()
    assert call.challenge.get("proxy-authenticate")
    # 100 Trying comes first for the authenticated INVITE
    assert call.provisionals and call.provisionals[0].status == 100, call.provisionals

    inc = callee.incoming()
    inv = inc.invite
    text = inv.text()
    # new dialog identifiers
    assert inv.call_id != call.call_id
    assert call.call_id.split("@")[0] not in text
    assert inv.tag("from") and inv.tag("from") != call.from_tag
    assert call.from_tag not in text
    # only the PBX's Via and Contact, nothing of the caller's
    vias = inv.get_all("via")
    assert len(vias) == 1 and f"127.0.0.1:{inst.port}" in vias[0], vias
    assert f"127.0.0.1:{inst.port}" in inv.get("contact"), inv.get("contact")
    assert CALLER_IP not in text, text
    assert str(caller.port) not in re.sub(r"m=audio \d+", "", text).replace(str(inst.port), ""), text
    assert "rf-test-phone" not in text and "record-route" not in inv.header_names()
    assert "proxy-authorization" not in inv.header_names()
    assert inv.ruri.startswith("sip:1002@"), inv.ruri
    # SDP points at the relay
    sdp = inv.sdp()
    assert sdp["c"] and set(sdp["c"]) == {"127.0.0.1"}, sdp["lines"]
    assert in_range(inst, sdp["port"]) and sdp["port"] != a_rtp.port, sdp["lines"]
    assert CALLER_IP not in " ".join(sdp["lines"])
    b_relay = (sdp["addr"], sdp["port"])

    # 180 and 183 with SDP are relayed; the 183's SDP is the relay's
    inc.ring(180)
    p180 = call.wait_provisional(180)
    assert p180.tag("to") and p180.tag("to") != inc.to_tag
    inc.ring(183, make_sdp(CALLEE_IP, b_rtp.port))
    p183 = call.wait_provisional(183)
    early = p183.sdp()
    assert early and set(early["c"]) == {"127.0.0.1"} and in_range(inst, early["port"]), p183.text()
    assert CALLEE_IP not in p183.text()

    ack = inc.answer(make_sdp(CALLEE_IP, b_rtp.port))
    assert ack.call_id == inv.call_id and ack.cseq == (inv.cseq[0], "ACK")
    final = call.wait_final()
    assert final.status == 200, final.text()
    ftext = final.text()
    assert CALLEE_IP not in ftext and inc.to_tag not in ftext and "rf-test-phone" not in ftext
    assert len(final.get_all("via")) == 1 and CALLER_IP in final.get("via")
    a_sdp = final.sdp()
    assert set(a_sdp["c"]) == {"127.0.0.1"} and in_range(inst, a_sdp["port"]), a_sdp["lines"]
    a_relay = (a_sdp["addr"], a_sdp["port"])
    assert a_relay != b_relay

    # RTP both ways: every packet arrives from the relay's port of that leg
    send_both_ways(a_rtp, a_relay, b_rtp, b_relay, 50)
    assert b_rtp.wait_count(50, 3) >= 45 and a_rtp.wait_count(50, 3) >= 45, (a_rtp.count(), b_rtp.count())
    assert b_rtp.sources() == {b_relay}, b_rtp.sources()
    assert a_rtp.sources() == {a_relay}, a_rtp.sources()
    assert all(p[2] == PACKET for p in b_rtp.packets() + a_rtp.packets())

    bye = hang_up_from_caller({"call": call, "inc": inc})
    assert bye.call_id == inv.call_id and CALLER_IP not in bye.text()

    rows = wait_cdr(inst, 1, lambda x: x["result"] == 200 and x["hangup"] is not None)
    assert len(rows) == 1, cdr_list(inst)
    row = rows[0]
    assert row["caller"] == "1001" and row["callee"] == "1002", row["raw"]
    assert row["hangup"] == "caller", row["raw"]
    assert row["packets_a"] >= 45 and row["packets_b"] >= 45, row["raw"]
    assert row["dropped_foreign"] == 0 and row["srtp"] is False, row["raw"]
    assert row["start"] and row["answer"] and row["end"], row["raw"]


def test_bye_from_callee_is_relayed_to_caller(rig):
    r = rig()
    c = establish(r)
    inc, call = c["inc"], c["call"]
    data = inc.start_request("BYE")
    req = call.answer_request("BYE")
    assert req.call_id == call.call_id and req.tag("to") == call.from_tag
    assert CALLEE_IP not in req.text()
    ans = inc.finish_request(data)
    assert ans is not None and ans.status == 200, ans
    rows = wait_cdr(r.inst, 1, lambda x: x["hangup"] == "callee")
    assert rows and rows[0]["result"] == 200, cdr_list(r.inst)


def test_hold_reinvite_update_and_info_pass_through(rig):
    r = rig()
    c = establish(r)
    call, inc = c["call"], c["inc"]
    callee = c["callee"]

    # hold: re-INVITE with a=sendonly from the caller
    hold_sdp = make_sdp(CALLER_IP, c["a_rtp"].port, "sendonly")
    data = call.start_request("INVITE", hold_sdp)
    reinv = callee.expect_request("INVITE", 5.0, call_id=inc.call_id)
    sdp = reinv.sdp()
    assert "sendonly" in sdp["attrs"], sdp["lines"]
    assert set(sdp["c"]) == {"127.0.0.1"} and CALLER_IP not in reinv.text()
    callee.respond(reinv, 200, body=make_sdp(CALLEE_IP, c["b_rtp"].port, "recvonly"),
                   to_tag=inc.to_tag)
    ans = call.finish_request(data)
    assert ans is not None and ans.status == 200, ans
    assert "recvonly" in ans.sdp()["attrs"] and set(ans.sdp()["c"]) == {"127.0.0.1"}
    ack = callee.expect_request("ACK", 5.0, call_id=inc.call_id)
    assert ack.cseq[0] == reinv.cseq[0]

    # resume with UPDATE from the callee
    resume = make_sdp(CALLEE_IP, c["b_rtp"].port, "sendrecv")
    data = inc.start_request("UPDATE", resume)
    upd = call.answer_request("UPDATE", 200, body=make_sdp(CALLER_IP, c["a_rtp"].port))
    assert "sendrecv" in upd.sdp()["attrs"] and CALLEE_IP not in upd.text()
    ans = inc.finish_request(data)
    assert ans is not None and ans.status == 200, ans

    # INFO (DTMF) from the caller
    info_body = b"Signal=5\r\nDuration=160\r\n"
    data = call.start_request("INFO", info_body, content_type="application/dtmf-relay")
    info = inc.answer_request("INFO")
    assert info.body == info_body and info.get("content-type") == "application/dtmf-relay"
    ans = call.finish_request(data)
    assert ans is not None and ans.status == 200, ans

    # media still flows after hold/resume, from the relay only
    c["a_rtp"].clear()
    c["b_rtp"].clear()
    send_both_ways(c["a_rtp"], c["a_relay"], c["b_rtp"], c["b_relay"], 20)
    assert c["b_rtp"].wait_count(18, 3) >= 18 and c["a_rtp"].wait_count(18, 3) >= 18
    assert c["b_rtp"].sources() == {c["b_relay"]} and c["a_rtp"].sources() == {c["a_relay"]}
    hang_up_from_caller(c)


def test_busy_callee_gives_486(rig):
    r = rig()
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    inc = callee.incoming()
    inc.reject(486)
    assert call.wait_final().status == 486
    rows = wait_cdr(r.inst, 1, lambda x: x["result"] == 486)
    assert rows and not rows[0]["answer"], cdr_list(r.inst)


def test_unregistered_extension_gives_480_and_unknown_404_after_auth(rig):
    r = rig()
    caller = r.phone("1001", CALLER_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    assert call.challenge.status == 407
    assert call.wait_final().status == 480
    unknown = caller.call("1999", make_sdp(CALLER_IP, 40000))
    assert unknown.challenge.status == 407, "an unknown extension must be challenged like a known one"
    assert unknown.wait_final().status == 404


def test_cdr_row_for_every_attempt_even_unroutable(rig):
    r = rig()
    caller = r.phone("1001", CALLER_IP)
    assert caller.call("1002", make_sdp(CALLER_IP, 40000)).wait_final().status == 480
    assert caller.call("1999", make_sdp(CALLER_IP, 40000)).wait_final().status == 404
    rows = wait_cdr(r.inst, 2)
    assert [(x["caller"], x["callee"], x["result"]) for x in rows] == \
        [("1001", "1002", 480), ("1001", "1999", 404)], cdr_list(r.inst)
    for x in rows:
        assert not x["answer"] and int(x["duration"] or 0) == 0 and x["hangup"], x["raw"]
        assert x["packets_a"] == 0 and x["packets_b"] == 0, x["raw"]


def test_cancel_while_ringing(rig):
    r = rig()
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    inc = callee.incoming()
    inc.ring(180)
    call.wait_provisional(180)
    ans = call.cancel()
    assert ans is not None and ans.status == 200, ans
    assert call.wait_final().status == 487
    cancel = callee.expect_request("CANCEL", 5.0, call_id=inc.call_id)
    callee.respond(cancel, 200)
    inc.reject(487)
    rows = wait_cdr(r.inst, 1, lambda x: x["result"] == 487)
    assert rows and rows[0]["hangup"] == "cancel", cdr_list(r.inst)


def test_ring_timeout_gives_480_and_cancels_callee(rig):
    r = rig(calls={"ring_timeout": 5})
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    t0 = time.monotonic()
    inc = callee.incoming()
    inc.ring(180)
    final = call.wait_final(12.0)
    took = time.monotonic() - t0
    assert final.status == 480, final.text()
    assert 4.0 <= took <= 9.0, took
    cancel = callee.expect_request("CANCEL", 5.0, call_id=inc.call_id)
    callee.respond(cancel, 200)
    inc.reject(487)


def test_require_100rel_is_refused_with_420(rig):
    r = rig()
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    call = caller.call("1002", make_sdp(CALLER_IP, 40000), extra=["Require: 100rel"])
    final = call.wait_final()
    assert final.status == 420, final.text()
    assert "100rel" in (final.get("unsupported") or ""), final.text()
    assert callee.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None


def test_spoofed_bye_from_other_address_is_refused_and_call_survives(rig):
    r = rig()
    c = establish(r)
    call, inc = c["call"], c["inc"]
    spoofer = r.phone("1001", SPOOF_IP, register=False)
    # the caller's own dialog, correct Call-ID, tags and next CSeq, from 127.0.0.9
    call.local_cseq += 1
    data = spoofer.request_bytes("BYE", call.remote_target, call.local_from, call.remote_to,
                                 call.call_id, call.local_cseq, extra=[f"Route: {x}" for x in call.route])
    ans, _ = spoofer.transact(data, 5.0)
    if ans is not None and ans.status in (401, 407):
        hdr, val = spoofer.proxy_auth(ans, "BYE", call.remote_target)
        call.local_cseq += 1
        data = spoofer.request_bytes("BYE", call.remote_target, call.local_from, call.remote_to,
                                     call.call_id, call.local_cseq,
                                     extra=[f"Route: {x}" for x in call.route] + [f"{hdr}: {val}"])
        ans, _ = spoofer.transact(data, 5.0)
    assert ans is not None and ans.status == 403, ans
    assert wait_for_event(r.inst, "indialog_spoof"), r.inst.security_events()
    assert inc.phone.take(lambda m: m.is_request and m.method == "BYE", 0.5) is None

    # the call is still up: media flows and the real BYE works
    send_both_ways(c["a_rtp"], c["a_relay"], c["b_rtp"], c["b_relay"], 10)
    assert c["b_rtp"].wait_count(9, 3) >= 9
    hang_up_from_caller(c)


def test_check_sync_notify_is_never_relayed(rig):
    r = rig()
    c = establish(r)
    call, callee = c["call"], c["callee"]
    before = len(r.inst.security_events())
    ans = call.request("NOTIFY", b"", extra=["Event: check-sync", "Subscription-State: active"])
    assert ans is not None and ans.status in (403, 481), ans
    assert callee.take(lambda m: m.is_request and m.method == "NOTIFY", 1.0) is None
    assert wait_until(lambda: len(r.inst.security_events()) > before, 2.0), r.inst.security_events()

    # outside any dialog, addressed to the extension
    caller = c["caller"]
    ruri = "sip:1002@127.0.0.1"
    args = ("NOTIFY", ruri, "<sip:1001@127.0.0.1>;tag=nt1", "<sip:1002@127.0.0.1>",
            "notify-" + call.call_id)
    ans, _ = caller.transact(caller.request_bytes(*args, 1, extra=["Event: check-sync"]), 5.0)
    if ans is not None and ans.status in (401, 407):
        hdr, val = caller.proxy_auth(ans, "NOTIFY", ruri)
        ans, _ = caller.transact(caller.request_bytes(*args, 2, extra=["Event: check-sync",
                                                                       f"{hdr}: {val}"]), 5.0)
    assert ans is not None and ans.status >= 400, ans
    assert callee.take(lambda m: m.is_request and m.method == "NOTIFY", 1.0) is None
    hang_up_from_caller(c)


def test_stray_rtp_from_third_address_is_dropped_and_counted(rig):
    r = rig()
    c = establish(r)
    stray = r.rtp(THIRD_IP)
    stray.send(c["a_relay"], 20, 0.005)
    stray.send(c["b_relay"], 20, 0.005)
    # the legitimate streams keep working alongside
    send_both_ways(c["a_rtp"], c["a_relay"], c["b_rtp"], c["b_relay"], 20)
    assert c["b_rtp"].wait_count(20, 3) >= 18 and c["a_rtp"].wait_count(20, 3) >= 18
    time.sleep(0.3)
    assert c["b_rtp"].count() == 20 and c["a_rtp"].count() == 20, (c["a_rtp"].count(), c["b_rtp"].count())
    assert c["b_rtp"].sources() == {c["b_relay"]} and c["a_rtp"].sources() == {c["a_relay"]}
    assert stray.count() == 0
    # a packet from the right IP but the wrong port is foreign as well
    wrong_port = r.rtp(CALLER_IP)
    wrong_port.send(c["a_relay"], 5, 0.005)
    time.sleep(0.3)
    assert c["b_rtp"].count() == 20
    hang_up_from_caller(c)
    rows = wait_cdr(r.inst, 1, lambda x: x["result"] == 200 and x["hangup"] == "caller")
    assert rows and rows[0]["dropped_foreign"] >= 45, cdr_list(r.inst)
    assert rows[0]["packets_a"] == 20 and rows[0]["packets_b"] == 20, rows[0]["raw"]


def test_concurrent_call_limit_per_extension(rig):
    r = rig(calls={"max_calls_per_ext": 1}, extra_ext=("1003", "1004"))
    c = establish(r)
    p3 = r.phone("1003", "127.0.0.4")
    # the caller is over its limit
    second = c["caller"].call("1003", make_sdp(CALLER_IP, 40002))
    assert second.wait_final().status == 503, second.final.text()
    assert p3.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None
    # the callee is busy
    p4 = r.phone("1004", "127.0.0.5")
    third = p4.call("1002", make_sdp("127.0.0.5", 40004))
    assert third.wait_final().status == 486, third.final.text()
    assert c["callee"].take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None
    assert wait_for_event(r.inst, "call_limit"), r.inst.security_events()
    refused = wait_cdr(r.inst, 2, lambda x: x["result"] in (503, 486) and not x["answer"])
    assert sorted((x["caller"], x["callee"], x["result"]) for x in refused) == \
        [("1001", "1003", 503), ("1004", "1002", 486)], cdr_list(r.inst)
    hang_up_from_caller(c)
    # the limit frees up with the call
    again = p4.call("1002", make_sdp("127.0.0.5", 40004))
    inc = c["callee"].incoming()
    inc.reject(486)
    assert again.wait_final().status == 486


def test_max_duration_ends_both_legs(rig):
    r = rig(calls={"max_duration": 10})
    c = establish(r)
    t0 = time.monotonic()
    bye_a = c["caller"].expect_request("BYE", 15.0, call_id=c["call"].call_id)
    c["caller"].respond(bye_a, 200)
    bye_b = c["callee"].expect_request("BYE", 5.0, call_id=c["inc"].call_id)
    c["callee"].respond(bye_b, 200)
    assert 8.5 <= time.monotonic() - t0 <= 13.0, time.monotonic() - t0
    rows = wait_cdr(r.inst, 1, lambda x: x["hangup"] == "max_duration")
    assert rows, cdr_list(r.inst)
    assert 9 <= int(rows[0]["duration"]) <= 12, rows[0]["raw"]


def test_port_pool_exhaustion_gives_503_and_recovers(rig):
    r = rig(ports=8, extra_ext=("1003", "1004", "1005", "1006"))
    c1 = establish(r, "1001", "1002", CALLER_IP, CALLEE_IP)
    c2 = establish(r, "1003", "1004", "127.0.0.4", "127.0.0.5")
    p5 = r.phone("1005", "127.0.0.6")
    p6 = r.phone("1006", "127.0.0.7")
    third = p5.call("1006", make_sdp("127.0.0.6", 40006))
    assert third.wait_final().status == 503, third.final.text()
    assert p6.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None
    hang_up_from_caller(c1)
    # ports come back once the relay closed the session
    def try_call():
        p5.queue.clear()
        call = p5.call("1006", make_sdp("127.0.0.6", 40006))
        if call.final is not None and call.final.status == 503:
            return None
        return call
    call = wait_until(try_call, 3.0, 0.3)
    assert call is not None, "pool did not recover after a call ended"
    inc = p6.incoming()
    assert r.inst.rtp_range[0] <= inc.invite.sdp()["port"] <= r.inst.rtp_range[1]
    inc.answer(make_sdp("127.0.0.7", 40008))
    assert call.wait_final().status == 200
    hang_up_from_caller({"call": call, "inc": inc})
    hang_up_from_caller(c2)


def test_cdr_rows_for_each_attempt_and_csv_export(rig):
    r = rig(extra_ext=("1003",))
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    # answered
    c = establish(r, caller=caller, callee=callee)
    send_both_ways(c["a_rtp"], c["a_relay"], c["b_rtp"], c["b_relay"], 10)
    c["b_rtp"].wait_count(10, 2)
    time.sleep(1.1)
    hang_up_from_caller(c)
    # busy
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    callee.incoming().reject(486)
    assert call.wait_final().status == 486
    # cancelled
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    inc = callee.incoming()
    inc.ring(180)
    call.wait_provisional(180)
    assert call.cancel().status == 200
    assert call.wait_final().status == 487
    callee.respond(callee.expect_request("CANCEL", 5.0), 200)
    inc.reject(487)
    # not registered
    assert caller.call("1003", make_sdp(CALLER_IP, 40000)).wait_final().status == 480

    rows = wait_cdr(r.inst, 4)
    assert [x["result"] for x in rows] == [200, 486, 487, 480], [x["raw"] for x in rows]
    assert rows[0]["start"] <= rows[0]["answer"] < rows[0]["end"] <= rows[1]["start"], rows[0]["raw"]
    assert [x["hangup"] for x in rows][0] == "caller" and rows[2]["hangup"] == "cancel"
    for x in rows:
        assert x["caller"] == "1001" and x["srtp"] is False, x["raw"]
    ans = rows[0]
    assert ans["duration"] is not None and 1 <= int(ans["duration"]) <= 3, ans["raw"]
    assert ans["packets_a"] >= 10 and ans["packets_b"] >= 10, ans["raw"]
    for x in rows[1:]:
        assert int(x["duration"] or 0) == 0 and not x["answer"], x["raw"]

    exported = cdr_export_csv(r.inst)
    assert [(x["caller"], x["callee"], x["result"], x["hangup"]) for x in exported] == \
        [(x["caller"], x["callee"], x["result"], x["hangup"]) for x in rows]


def test_invite_challenge_looks_the_same_for_unknown_caller_and_wrong_password(rig):
    """No enumeration through INVITE: an unknown caller and a wrong password
    get the same answers, and nothing is routed."""
    r = rig()
    callee = r.phone("1002", CALLEE_IP)
    answers = {}
    for name, ext, pw in (("unknown", "1999", "Guess-Passw0rd!x"), ("wrong", "1001", "Wrong-Passw0rd!x")):
        p = r.phone(ext, "127.0.0.6", register=False, password=pw)
        call = p.call("1002", make_sdp("127.0.0.6", 40000))
        assert call.challenge.status == 407, call.challenge.text()
        final = call.wait_final()
        answers[name] = (final.status, sorted(set(final.header_names())))
        p.conn.close()
    assert answers["unknown"] == answers["wrong"], answers
    assert answers["unknown"][0] in (403, 407), answers
    assert callee.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None


def test_max_forwards_zero_is_refused_with_483(rig):
    r = rig()
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    caller.max_forwards = 0
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    assert call.wait_final().status == 483, call.final.text()
    assert callee.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None


def test_no_media_timeout_ends_the_call(rig):
    r = rig(media={"no_media_timeout": 3})
    c = establish(r)
    # media flows for a second, then stops
    send_both_ways(c["a_rtp"], c["a_relay"], c["b_rtp"], c["b_relay"], 25)
    t0 = time.monotonic()
    bye_a = c["caller"].expect_request("BYE", 10.0, call_id=c["call"].call_id)
    c["caller"].respond(bye_a, 200)
    bye_b = c["callee"].expect_request("BYE", 5.0, call_id=c["inc"].call_id)
    c["callee"].respond(bye_b, 200)
    assert 2.0 <= time.monotonic() - t0 <= 7.0, time.monotonic() - t0
    rows = wait_cdr(r.inst, 1, lambda x: x["hangup"] == "no_media")
    assert rows and rows[0]["packets_a"] == 25 and rows[0]["packets_b"] == 25, cdr_list(r.inst)


def sighup(inst, n):
    """Reload; wait for the n-th config_changed event."""
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: len(inst.security_events("config_changed")) >= n, 10), \
        inst.security_events()


def test_no_media_timeout_lowered_by_a_reload_ends_a_silent_call(rig):
    r = rig(media={"no_media_timeout": 600})
    assert wait_for_event(r.inst, "daemon_started", timeout=10)
    c = establish(r)  # no RTP at all
    r.inst.set_conf("media", "no_media_timeout", "3")
    sighup(r.inst, 1)
    assert " not_applied=0" in r.inst.security_events("config_changed")[0]
    t0 = time.monotonic()
    bye_a = c["caller"].expect_request("BYE", 15.0, call_id=c["call"].call_id)
    c["caller"].respond(bye_a, 200)
    bye_b = c["callee"].expect_request("BYE", 5.0, call_id=c["inc"].call_id)
    c["callee"].respond(bye_b, 200)
    assert time.monotonic() - t0 <= 15.0
    rows = wait_cdr(r.inst, 1, lambda x: x["hangup"] == "no_media")
    assert rows and rows[0]["packets_a"] == 0 and rows[0]["packets_b"] == 0, cdr_list(r.inst)


def cps_burst(caller, callee, n):
    """n calls one after another, each turned down by the callee once the
    daemon admits it. Returns (refused with 503, admitted, the wall-clock
    seconds the burst touched): admission counts per second of the clock."""
    refused = admitted = 0
    first = time.time()
    for _ in range(n):
        call = caller.call("1002", make_sdp(CALLER_IP, 40000))
        if call.final is not None:
            assert call.final.status == 503, call.final.text()
            refused += 1
            continue
        callee.incoming().reject(486)
        assert call.wait_final().status == 486, call.final.text()
        admitted += 1
    seconds = math.floor(time.time()) - math.floor(first) + 1
    return refused, admitted, seconds


def test_max_cps_follows_a_reload_up_and_down(rig):
    n = 12
    r = rig(calls={"max_cps": 2, "max_calls_per_ext": 100})
    assert wait_for_event(r.inst, "daemon_started", timeout=10)
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)

    refused, admitted, seconds = cps_burst(caller, callee, n)
    assert admitted <= 2 * seconds and refused == n - admitted, (refused, admitted, seconds)
    assert refused > 0, "the burst was too slow to meet the limit"
    assert wait_for_event(r.inst, "call_limit", "reason=cps")

    r.inst.set_conf("calls", "max_cps", "100")
    sighup(r.inst, 1)
    assert cps_burst(caller, callee, n)[:2] == (0, n)
    assert wait_until(lambda: "sized from [calls] max_cps = 100" in r.inst.daemon_output(), 5)

    r.inst.set_conf("calls", "max_cps", "1")
    sighup(r.inst, 2)
    refused, admitted, seconds = cps_burst(caller, callee, n)
    assert admitted <= seconds and refused == n - admitted, (refused, admitted, seconds)
    assert refused > 0, "the burst was too slow to meet the limit"


def test_ports_return_to_the_pool_after_every_kind_of_end(rig):
    """A pool of two calls survives busy, cancel, ring timeout and BYE from
    the callee: afterwards two calls fit again and a third gets 503."""
    r = rig(ports=8, calls={"ring_timeout": 5}, extra_ext=("1003", "1004", "1005", "1006"))
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    # busy
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    callee.incoming().reject(486)
    assert call.wait_final().status == 486
    # cancel
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    inc = callee.incoming()
    inc.ring(180)
    call.wait_provisional(180)
    assert call.cancel().status == 200 and call.wait_final().status == 487
    callee.respond(callee.expect_request("CANCEL", 5.0), 200)
    inc.reject(487)
    # ring timeout
    call = caller.call("1002", make_sdp(CALLER_IP, 40000))
    inc = callee.incoming()
    inc.ring(180)
    assert call.wait_final(12.0).status == 480
    callee.respond(callee.expect_request("CANCEL", 5.0), 200)
    inc.reject(487)
    # answered, BYE from the callee
    c = establish(r, caller=caller, callee=callee)
    data = c["inc"].start_request("BYE")
    c["call"].answer_request("BYE")
    assert c["inc"].finish_request(data).status == 200

    # the relay reports a session's final counters (and so the CDR row is
    # written) only after it closed the session's sockets
    assert len(wait_cdr(r.inst, 4)) == 4, cdr_list(r.inst)
    live = [establish(r, caller=caller, callee=callee),
            establish(r, "1003", "1004", "127.0.0.4", "127.0.0.5")]
    p5 = r.phone("1005", "127.0.0.6")
    r.phone("1006", "127.0.0.7")
    third = p5.call("1006", make_sdp("127.0.0.6", 40006))
    assert third.wait_final().status == 503, third.final.text()
    for x in live:
        hang_up_from_caller(x)



def test_rtcp_on_port_plus_one_is_relayed_from_the_relay_only(rig):
    r = rig()
    caller, callee = r.phone("1001", CALLER_IP), r.phone("1002", CALLEE_IP)
    a_rtp, a_rtcp = rtp_rtcp_pair(CALLER_IP)
    b_rtp, b_rtcp = rtp_rtcp_pair(CALLEE_IP)
    r.rtps += [a_rtp, a_rtcp, b_rtp, b_rtcp]
    c = establish(r, caller=caller, callee=callee, a_rtp=a_rtp, b_rtp=b_rtp)
    a_ctl = (c["a_relay"][0], c["a_relay"][1] + 1)
    b_ctl = (c["b_relay"][0], c["b_relay"][1] + 1)
    for _ in range(3):
        a_rtcp.sock.sendto(rtcp_sender_report(0x1111), a_ctl)
        b_rtcp.sock.sendto(rtcp_sender_report(0x2222), b_ctl)
    assert b_rtcp.wait_count(3, 3) == 3 and a_rtcp.wait_count(3, 3) == 3, (a_rtcp.count(), b_rtcp.count())
    assert b_rtcp.sources() == {b_ctl} and a_rtcp.sources() == {a_ctl}
    # RTCP from the RTP port (or anyone else) is not the signalled peer
    stray = r.rtp(THIRD_IP)
    stray.sock.sendto(rtcp_sender_report(0x3333), a_ctl)
    time.sleep(0.3)
    assert b_rtcp.count() == 3
    hang_up_from_caller(c)
