"""Calls over trunks (P4, S12): a SIPp "provider" on its own loopback
address receives outbound calls and places inbound ones, over UDP and
TCP; over TLS (which this SIPp lacks) trunkpeer.CallProvider takes them.
Trunks named by a host name are resolved by trunkpeer.DnsServer.

The provider is 127.0.0.50; the trunk is IP-authenticated by that
address. Phones sit on other 127.x addresses, and a stranger copying the
provider's messages sends them from 127.0.0.51. SIPp 3.6 answers only
MD5 challenges, so these instances offer MD5 alone."""
import hashlib
import re
import time

import pytest

from sipcall import Call, Incoming, Phone, b2bua_available, cdr_list, make_sdp, wait_cdr
from test_calls_sipp import SIPP, finish, free_udp_port
from trunkpeer import (PROVIDER_IP, CallProvider, DnsServer, header, provider_uas,
                       received_invites, sipp, tls_server_context, trunk_pbx, wait_trunk_state)

STRANGER_IP, PHONE_IP, CALLER_IP = "127.0.0.51", "127.0.0.3", "127.0.0.2"
DID, DID_NATIONAL, EXT, CALLER = "+441632960100", "01632960100", "1001", "1002"
OUTSIDE = "+441632960999"

pytestmark = [
    pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed"),
    pytest.mark.skipif(not b2bua_available(), reason="the daemon does not route calls"),
]


def provider_phone(instance, ip, caller=OUTSIDE):
    """A provider-side UA without credentials: its From user is the caller."""
    return Phone(instance, caller, ip=ip, password="")


def invite_did(phone, instance, did=DID, extra=(), port=None):
    """The provider's INVITE to a DID; returns its first final answer."""
    c = Call(phone, did, make_sdp(phone.ip, port or free_udp_port(phone.ip)), extra=extra,
             authenticate=False, ruri=f"sip:{did}@127.0.0.1:{instance.port}")
    r = c.invite()
    return c, (r if r.status >= 200 else c.wait_final(10.0))


def start_invite(phone, instance, rtp_port, did=DID):
    """Send the provider's INVITE and return at once: the call rings."""
    c = Call(phone, did, make_sdp(phone.ip, rtp_port), authenticate=False,
             ruri=f"sip:{did}@127.0.0.1:{instance.port}")
    phone.send(c._invite(()))
    return c


# ---- outbound ----

def call_out(instance, workdir, scenario, port, n_invites=1, ext=EXT, ip=PHONE_IP,
             number="01632960000", uas=None, uas_args=()):
    """Extension `ext` dials `number` and the SIPp provider on `port`
    answers (`uas`, when it runs already, is stopped at the end; else one
    is started with `uas_args`); the phone hangs up. Returns the INVITEs
    the provider got."""
    endless = uas is not None
    uas = uas or provider_uas(workdir, scenario, port, uas_args)
    phone = Phone(instance, ext, ip=ip)
    try:
        time.sleep(0.5)  # SIPp binds its sockets
        phone.register()
        call = phone.call(number, make_sdp(ip, free_udp_port(ip)))
        final = call.wait_final(10.0)
        assert final.status == 200, final.text()
        invites = received_invites(workdir, "prov", n=n_invites)
        ans = call.request("BYE", timeout=10.0)
        assert ans is not None and ans.status == 200, ans
        rc, log = (0, "") if endless else finish(uas, workdir, "prov", 15)
    finally:
        if uas.poll() is None:
            uas.kill()
            uas.communicate()
        phone.conn.close()
    assert rc == 0, log
    return invites


def test_outbound_call_reaches_the_provider_with_the_normalised_number_and_caller_id(
        instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    trunk_pbx(instance, port, commands=[
        ("ext", "set", EXT, "--caller-id", "+441632960001"),
        ("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov",
         "--strip", "1", "--prepend", "+44")])
    invite = call_out(instance, workdir, "uas-provider.xml", port)[0]
    assert invite.startswith(f"INVITE sip:+441632960000@{PROVIDER_IP}:{port} SIP/2.0"), invite
    assert "<sip:+441632960001@" in header(invite, "From"), invite
    assert "<sip:+441632960001@" in header(invite, "P-Asserted-Identity"), invite
    # nothing of the inside: no extension, no phone address, no product
    for leak in (EXT, PHONE_IP, "rf-test-phone"):
        assert leak not in invite, (leak, invite)
    rows = wait_cdr(instance, 1, lambda x: x["hangup"] == "caller")
    assert rows, cdr_list(instance)
    raw = rows[0]["raw"]
    assert raw["direction"] == "outbound" and raw["trunk"] == "prov", raw
    assert "+441632960000" in (raw.get("number"), raw.get("e164")), raw


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def test_outbound_call_answers_the_providers_challenge_with_the_trunk_credentials(
        instance, workdir):
    """The provider requires registration with digest and challenges each
    call: the trunk registers, and the call's 407 is answered."""
    port = free_udp_port(PROVIDER_IP)
    secret = "Tr-unk-Pa55-word"
    uas = provider_uas(workdir, "uas-provider-auth.xml", port,
                       ["-key", "user", "acct77", "-key", "pass", secret], calls=None)
    time.sleep(0.3)  # SIPp answers the first REGISTER
    trunk_pbx(instance, port, trunk_args=("--register", "--username", "acct77", "--password", secret),
        commands=[("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov",
                   "--strip", "1", "--prepend", "44")])
    wait_trunk_state(instance, "registered")
    first, second = call_out(instance, workdir, "uas-provider-auth.xml", port, 2, uas=uas)[:2]
    assert header(first, "Proxy-Authorization") is None
    auth = header(second, "Proxy-Authorization")
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
    assert p["username"] == "acct77" and p["realm"] == "provider.example", auth
    assert p["opaque"] == "op4que" and p["qop"] == "auth", auth
    uri = f"sip:441632960000@{PROVIDER_IP}:{port}"
    assert p["uri"] == uri and second.startswith(f"INVITE {uri} SIP/2.0"), second
    ha1 = md5(f"acct77:provider.example:{secret}")
    want = md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{md5('INVITE:' + uri)}")
    assert p["response"] == want, auth
    # the account's From when the extension has no caller ID of its own
    assert "<sip:acct77@" in header(second, "From"), second
    with open(instance.seclog) as f:
        assert secret not in f.read()
    assert secret not in instance.daemon_output()


def test_emergency_calls_pass_a_full_trunk(instance, workdir):
    """A trunk at its --max-calls refuses a national call with 503 but
    still carries 999, over its own route."""
    port = free_udp_port(PROVIDER_IP)
    trunk_pbx(instance, port, trunk_args=("--max-calls", "1"), commands=[
        ("route", "add", "--match", "999", "--trunk", "prov"),
        ("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov")])
    callee = Phone(instance, EXT, ip=PHONE_IP)
    prov = provider_phone(instance, PROVIDER_IP)
    caller = Phone(instance, CALLER, ip=CALLER_IP)
    try:
        callee.register()
        caller.register()
        ringing = start_invite(prov, instance, 40000)  # the trunk's one call
        inc = callee.incoming(5.0)
        inc.ring(180)
        national = caller.call("01632960000", make_sdp(CALLER_IP, 40002))
        assert national.wait_final().status == 503
        invite = call_out(instance, workdir, "uas-provider.xml", port, ext=CALLER,
                          ip="127.0.0.4", number="999")[0]
        assert invite.startswith(f"INVITE sip:999@{PROVIDER_IP}:{port} SIP/2.0"), invite
        inc.reject(486)
        assert ringing.wait_final().status == 486
    finally:
        for p in (callee, prov, caller):
            p.conn.close()
    assert any("reason=trunk" in e for e in instance.security_events("call_limit"))


def test_outbound_call_with_no_route_is_refused_and_recorded(instance):
    trunk_pbx(instance)
    phone = Phone(instance, EXT, ip=PHONE_IP)
    try:
        phone.register()
        call = phone.call("01632960000", make_sdp(PHONE_IP, 40000))
        assert call.wait_final().status == 404
    finally:
        phone.conn.close()
    rows = wait_cdr(instance, 1, lambda x: x["result"] == 404)
    assert rows and rows[0]["hangup"] == "no_route", cdr_list(instance)


# ---- inbound ----

def test_inbound_call_to_a_did_rings_its_extension(instance, workdir):
    trunk_pbx(instance)
    callee = Phone(instance, EXT, ip=PHONE_IP)
    port = free_udp_port(PROVIDER_IP)
    uac = None
    try:
        callee.register()
        uac = sipp(workdir, "prov", "uac-trunk-inbound.xml", PROVIDER_IP, port,
                   ["-key", "did", DID_NATIONAL, "-key", "caller", OUTSIDE,
                    "-key", "rtp_port", str(free_udp_port(PROVIDER_IP)), "-d", "500"],
                   target=f"127.0.0.1:{instance.port}")
        inc = callee.incoming(10.0)
        assert OUTSIDE in inc.invite.get("from"), inc.invite.text()
        assert "provider.example" not in inc.invite.text()
        inc.ring(180)
        inc.answer(make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
        inc.answer_request("BYE", timeout=10.0)
        rc, log = finish(uac, workdir, "prov", 20)
    finally:
        if uac is not None and uac.poll() is None:
            uac.kill()
            uac.communicate()
        callee.conn.close()
    assert rc == 0, log
    rows = wait_cdr(instance, 1, lambda x: x["result"] == 200)
    assert rows, cdr_list(instance)
    raw = rows[0]["raw"]
    assert raw["direction"] == "inbound" and raw["trunk"] == "prov", raw
    assert rows[0]["caller"] == OUTSIDE and rows[0]["callee"] == EXT, raw


def test_the_providers_invite_from_another_address_is_a_strangers(instance):
    """Claiming to be the trunk (its From domain, a DID) from any other
    address gets exactly what any unknown source gets: a challenge."""
    trunk_pbx(instance)
    callee = Phone(instance, EXT, ip=PHONE_IP)
    stranger = provider_phone(instance, STRANGER_IP)
    other = provider_phone(instance, "127.0.0.52")
    try:
        callee.register()
        _, spoofed = invite_did(stranger, instance, extra=("P-Asserted-Identity: <sip:+441632960999@127.0.0.50>",))
        _, plain = invite_did(other, instance, did="1001")
        assert spoofed.status == plain.status == 407, (spoofed.text(), plain.text())
        assert spoofed.header_names() == plain.header_names()
        strip = lambda v: re.sub(r'nonce="[^"]*"', "", v)
        assert [strip(v) for v in spoofed.get_all("proxy-authenticate")] == \
            [strip(v) for v in plain.get_all("proxy-authenticate")]
        assert callee.take(lambda m: m.is_request and m.method == "INVITE", 1.0) is None
    finally:
        for p in (callee, stranger, other):
            p.conn.close()
    assert instance.security_events("inbound_refused") == []


def test_unknown_did_gets_404(instance):
    trunk_pbx(instance)
    prov = provider_phone(instance, PROVIDER_IP)
    try:
        _, final = invite_did(prov, instance, did="+441632960555")
        assert final.status == 404, final.text()
    finally:
        prov.conn.close()


def test_trunk_max_calls_counts_inbound_calls(instance):
    trunk_pbx(instance, trunk_args=("--max-calls", "1"))
    callee = Phone(instance, EXT, ip=PHONE_IP)
    prov = provider_phone(instance, PROVIDER_IP)
    try:
        callee.register()
        first = start_invite(prov, instance, 40000)
        inc = callee.incoming(5.0)
        inc.ring(180)
        _, second = invite_did(prov, instance, port=40002)
        assert second.status == 503, second.text()
        assert any("reason=trunk_limit" in e for e in instance.security_events("inbound_refused"))
        inc.reject(486)
        assert first.wait_final().status == 486
        time.sleep(0.5)  # the slot is given back once the relay has closed the media
        third = start_invite(prov, instance, 40004)
        callee.incoming(5.0).reject(486)
        assert third.wait_final().status == 486
    finally:
        callee.conn.close()
        prov.conn.close()


def test_anonymous_callers_are_refused_only_when_configured(instance):
    trunk_pbx(instance, inbound={"reject_anonymous": "true"})
    callee = Phone(instance, EXT, ip=PHONE_IP)
    anon = provider_phone(instance, PROVIDER_IP, caller="anonymous")
    prov = provider_phone(instance, PROVIDER_IP)
    try:
        callee.register()
        _, final = invite_did(anon, instance)
        assert final.status == 433, final.text()
        _, final = invite_did(prov, instance, extra=("Privacy: id",))
        assert final.status == 433, final.text()
        events = instance.security_events("inbound_refused")
        assert len(events) == 2 and all("reason=anonymous" in e for e in events), events
        # a caller who shows their number still rings through
        call = start_invite(prov, instance, 40010)
        callee.incoming(5.0).reject(486)
    finally:
        for p in (callee, anon, prov):
            p.conn.close()


def test_anonymous_callers_ring_by_default(instance):
    trunk_pbx(instance)
    callee = Phone(instance, EXT, ip=PHONE_IP)
    anon = provider_phone(instance, PROVIDER_IP, caller="anonymous")
    try:
        callee.register()
        call = start_invite(anon, instance, 40010)
        callee.incoming(5.0).reject(486)
        assert call.wait_final().status == 486
    finally:
        anon.conn.close()
        callee.conn.close()


def test_a_blacklisted_caller_is_refused_in_any_spelling(instance):
    trunk_pbx(instance, commands=[("blacklist", "add", "01632960999", "--caller",
                              "--reason", "nuisance calls")])
    callee = Phone(instance, EXT, ip=PHONE_IP)
    try:
        callee.register()
        for spelling in ("+441632960999", "01632960999", "00441632960999"):
            prov = provider_phone(instance, PROVIDER_IP, caller=spelling)
            try:
                _, final = invite_did(prov, instance)
            finally:
                prov.conn.close()
            assert final.status == 603, (spelling, final.text())
        events = instance.security_events("inbound_refused")
        assert len(events) == 3 and all("reason=blacklisted" in e for e in events), events
        assert callee.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None
    finally:
        callee.conn.close()


def test_a_caller_over_the_per_caller_rate_is_refused(instance):
    trunk_pbx(instance, inbound={"calls_per_caller_per_minute": "2"})
    callee = Phone(instance, EXT, ip=PHONE_IP)
    prov = provider_phone(instance, PROVIDER_IP)
    other = provider_phone(instance, PROVIDER_IP, caller="+441632960888")
    try:
        callee.register()
        for i in range(2):
            call = start_invite(prov, instance, 40020 + 2 * i)
            callee.incoming(5.0).reject(486)
            assert call.wait_final().status == 486
        _, final = invite_did(prov, instance)
        assert final.status == 486, final.text()
        assert callee.take(lambda m: m.is_request and m.method == "INVITE", 0.5) is None
        assert any("reason=caller_rate" in e for e in instance.security_events("inbound_refused"))
        # another caller is not held back
        call = start_invite(other, instance, 40030)
        callee.incoming(5.0).reject(486)
    finally:
        for p in (callee, prov, other):
            p.conn.close()


def test_options_are_answered_to_the_trunk_only(instance):
    """Providers check that we are up with OPTIONS; a stranger learns
    nothing, as before."""
    trunk_pbx(instance)
    prov = provider_phone(instance, PROVIDER_IP)
    stranger = provider_phone(instance, STRANGER_IP)
    try:
        answers = []
        for p in (prov, stranger):
            data = p.request_bytes("OPTIONS", f"sip:127.0.0.1:{instance.port}",
                                   f"<sip:{p.ext}@provider.example>;tag=o1",
                                   f"<sip:127.0.0.1:{instance.port}>", f"opt-{p.ip}", 1)
            answers.append(p.transact(data, timeout=2.0)[0])
        assert answers[0] is not None and answers[0].status == 200, answers[0]
        assert answers[1] is None
    finally:
        prov.conn.close()
        stranger.conn.close()


# ---- transports and host names ----

ROUTE = ("route", "add", "--match", "0[1-9]XXXXXXXXX", "--trunk", "prov",
         "--strip", "1", "--prepend", "+44")
SENT = "+441632960000"  # what 01632960000 becomes on that route


@pytest.fixture
def provider_dns(instance):
    """serve(records) starts a DNS server (trunkpeer.DnsServer) and makes
    it the instance's trunk resolver."""
    servers = []

    def serve(records):
        dns = DnsServer(records)
        servers.append(dns)
        instance.set_conf("trunks", "dns_servers", dns.addr)
        return dns
    yield serve
    for dns in servers:
        dns.close()


def wait_resolved(instance, host="provider.test"):
    deadline = time.monotonic() + 10
    while f"{host} is at" not in instance.daemon_output():
        assert time.monotonic() < deadline, instance.daemon_output()[-3000:]
        time.sleep(0.1)


def test_outbound_call_over_a_tcp_trunk(instance, workdir):
    port = free_udp_port(PROVIDER_IP)
    trunk_pbx(instance, port, trunk_args=("--transport", "tcp"), commands=[ROUTE])
    # SIPp over TCP only: the ACK and the BYE it waits for came on the
    # connection, or it fails.
    invite = call_out(instance, workdir, "uas-provider.xml", port, uas_args=("-t", "t1"))[0]
    assert invite.startswith(f"INVITE sip:{SENT}@{PROVIDER_IP}:{port} SIP/2.0"), invite
    assert header(invite, "Via").startswith("SIP/2.0/TCP "), invite
    assert "transport=tcp" in header(invite, "Contact"), invite
    rows = wait_cdr(instance, 1, lambda x: x["hangup"] == "caller")
    assert rows and rows[0]["raw"]["trunk"] == "prov", cdr_list(instance)


def tls_call(instance, cert, key, names=None):
    """Extension 1001 calls out over a TLS trunk to provider.test, served
    by a CallProvider with that certificate; returns (the phone's final
    answer, the provider) once the phone has hung up a call that was
    answered."""
    ctx = tls_server_context(cert, key)
    if names is not None:
        ctx.sni_callback = lambda sock, name, c: names.append(name)
    prov = CallProvider("acct", "unused", tls_ctx=ctx)
    phone = Phone(instance, EXT, ip=PHONE_IP)
    try:
        trunk_pbx(instance, prov.port, host="provider.test", trunk_args=("--transport", "tls"),
            commands=[ROUTE])
        wait_resolved(instance)
        phone.register()
        call = phone.call("01632960000", make_sdp(PHONE_IP, free_udp_port(PHONE_IP)))
        final = call.wait_final(10.0)
        if final.status == 200:
            bye = call.request("BYE", timeout=10.0)
            assert bye is not None and bye.status == 200, bye
    finally:
        phone.conn.close()
        prov.close()
    return final, prov


def test_outbound_call_over_a_tls_trunk_is_verified_and_ends_with_bye(instance, tls_env):
    cert, key = tls_env.leaf("good", dns=["provider.test"])
    names = []
    final, prov = tls_call(instance, cert, key, names)
    assert final.status == 200, final.text()
    assert prov.methods() == ["INVITE", "ACK", "BYE"], prov.calls
    invite = prov.calls[0]
    assert invite.startswith(f"INVITE sip:{SENT}@provider.test:{prov.port} SIP/2.0"), invite
    assert header(invite, "Via").startswith("SIP/2.0/TLS "), invite
    assert "transport=tls" in header(invite, "Contact"), invite
    assert names == ["provider.test"]  # one connection, verified for that name
    assert instance.security_events("tls_verify_failed") == []


def test_a_tls_trunk_whose_certificate_does_not_match_carries_no_call(instance, tls_env):
    cert, key = tls_env.leaf("other", dns=["other.test"])
    final, prov = tls_call(instance, cert, key)
    assert final.status == 503, final.text()
    assert prov.calls == []  # not one byte of SIP left
    assert "call not placed: tls_verify_failed" in instance.daemon_output()
    ev = instance.security_events("trunk_call_failed")
    assert len(ev) == 1 and "reason=tls_verify_failed" in ev[0], ev
    rows = wait_cdr(instance, 1, lambda x: x["result"] == 503)
    assert rows, cdr_list(instance)


def test_outbound_call_to_a_trunk_named_by_dns_goes_to_the_resolved_address(
        instance, workdir, provider_dns):
    port = free_udp_port(PROVIDER_IP)
    dns = provider_dns({
        ("provider.test", "NAPTR"): [],
        ("_sip._udp.provider.test", "SRV"): [(300, (10, 0, port, "sip1.provider.test"))],
        ("sip1.provider.test", "A"): [(300, PROVIDER_IP)],
    })
    trunk_pbx(instance, None, host="provider.test", commands=[ROUTE])
    wait_resolved(instance)
    invite = call_out(instance, workdir, "uas-provider.xml", port)[0]
    # The Request-URI keeps the name; the packet went where SRV said.
    assert invite.startswith(f"INVITE sip:{SENT}@provider.test SIP/2.0"), invite
    assert ("_sip._udp.provider.test", "SRV") in dns.queries


def test_a_call_fails_over_to_the_next_srv_target(instance, workdir, provider_dns):
    port, dead = free_udp_port(PROVIDER_IP), free_udp_port(PROVIDER_IP)
    provider_dns({
        ("provider.test", "NAPTR"): [],
        ("_sip._tcp.provider.test", "SRV"): [
            (300, (10, 0, dead, "sip1.provider.test")),  # nothing listens: refused
            (300, (20, 0, port, "sip2.provider.test"))],
        ("sip1.provider.test", "A"): [(300, PROVIDER_IP)],
        ("sip2.provider.test", "A"): [(300, PROVIDER_IP)],
    })
    trunk_pbx(instance, None, host="provider.test", trunk_args=("--transport", "tcp"),
        commands=[ROUTE])
    wait_resolved(instance)
    invite = call_out(instance, workdir, "uas-provider.xml", port, uas_args=("-t", "t1"))[0]
    assert invite.startswith(f"INVITE sip:{SENT}@provider.test SIP/2.0"), invite
    out = instance.daemon_output()
    assert f"found no one at {PROVIDER_IP}:{dead}" in out and "trying the next address" in out


def test_a_call_fails_over_past_an_address_it_cannot_be_sent_to(instance, workdir, provider_dns):
    """The first SRV target is an IPv6 address, which this instance,
    listening on IPv4 alone, has no socket for: the INVITE cannot even
    leave for it, and goes to the next target at once."""
    port = free_udp_port(PROVIDER_IP)
    provider_dns({
        ("provider.test", "NAPTR"): [],
        ("_sip._udp.provider.test", "SRV"): [
            (300, (10, 0, port, "sip1.provider.test")),
            (300, (20, 0, port, "sip2.provider.test"))],
        ("sip1.provider.test", "AAAA"): [(300, "::1")],
        ("sip2.provider.test", "A"): [(300, PROVIDER_IP)],
    })
    trunk_pbx(instance, None, host="provider.test", commands=[ROUTE])
    wait_resolved(instance)
    out = instance.daemon_output()
    assert "provider.test is at [::1]" in out and "(2 addresses)" in out, out[-3000:]
    invite = call_out(instance, workdir, "uas-provider.xml", port)[0]
    assert invite.startswith(f"INVITE sip:{SENT}@provider.test SIP/2.0"), invite
    out = instance.daemon_output()
    assert "found no one at [::1]" in out and "trying the next address" in out, out[-3000:]


def ring_did(prov, callee, instance, did, rtp_port):
    """The provider calls `did`; True when the callee's phone rang (it
    refuses with 486), False when the PBX answered without ringing it."""
    call = start_invite(prov, instance, rtp_port, did=did)
    inv = callee.take(lambda m: m.is_request and m.method == "INVITE", 2.0)
    if inv is None:
        assert call.wait_final().status in (404, 407), "neither rang nor refused"
        return False
    assert OUTSIDE in inv.get("from"), inv.text()
    Incoming(callee, inv).reject(486)
    assert call.wait_final().status == 486
    return True


def test_inbound_call_from_the_resolved_address_of_a_named_trunk(instance, provider_dns):
    """The trunk has no --ip: its provider is known by the address its
    name resolves to, in every snapshot of the trunks; the same INVITE
    from another address is a stranger's."""
    provider_dns({("provider.test", "A"): [(300, PROVIDER_IP)]})
    trunk_pbx(instance, 5060, host="provider.test")
    wait_resolved(instance)
    callee = Phone(instance, EXT, ip=PHONE_IP)
    prov = provider_phone(instance, PROVIDER_IP)
    other = provider_phone(instance, "127.0.0.52")
    try:
        callee.register()
        assert ring_did(prov, callee, instance, DID, 40000)
        _, refused = invite_did(other, instance)
        assert refused.status == 407, refused.text()
        assert callee.take(lambda m: m.is_request and m.method == "INVITE", 1.0) is None
        # A new DID reloads the trunks: once it rings, the new snapshot is
        # in use, and it knows the provider by its resolved address too.
        instance.cli("did", "add", "+441632960101", "--ext", EXT)
        deadline = time.monotonic() + 10
        while not ring_did(prov, callee, instance, "+441632960101", 40002):
            assert time.monotonic() < deadline, "the new DID never rang"
            time.sleep(0.2)
    finally:
        for p in (callee, prov, other):
            p.conn.close()
    assert instance.security_events("inbound_refused") == []

