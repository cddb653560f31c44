"""The registrar over UDP against the real daemon: challenges, digest
answers, the checks on an authenticated REGISTER, Expires bounds, the
contact limit, Call-ID/CSeq ordering, received/rport and access lists."""
import re
import time

import pytest

from sipua import (authorization, bindings_of, contact_uri, env_flag, pick_challenge,
                   remaining_seconds, udp_exchange, wait_for_event, wait_until)
from sipua import mkua  # noqa: F401  (fixture)

NONCE_RE = re.compile(r"^[0-9a-f]{40}$")


def assert_no_binding(inst, ext):
    rows = bindings_of(inst, ext)
    assert rows == [], f"unexpected binding for {ext}: {rows}"


def assert_challenge(resp, realm=None):
    assert resp is not None and resp.status == 401, resp
    chs = resp.challenges()
    assert len(chs) == 2, resp.raw
    (s1, p1), (s2, p2) = chs
    assert s1 == "Digest" and s2 == "Digest"
    assert p1.get("algorithm") == "SHA-256", resp.raw
    assert p2.get("algorithm") == "MD5", resp.raw
    for value in resp.get_all("www-authenticate"):
        assert 'qop="auth"' in value, value
    for p in (p1, p2):
        assert NONCE_RE.match(p["nonce"]), p
        if realm is not None:
            assert p["realm"] == realm
    assert resp.get("server") is None and resp.get("user-agent") is None, resp.raw
    return p1, p2


# ---------------------------------------------------------------- challenge

def test_register_without_credentials_is_challenged_sha256_then_md5(instance, mkua):
    instance.set_conf("sip", "realm", "pbx.ringfence.test")
    instance.start()
    ua = mkua(instance, "1001")
    r = ua.request(expires=3600)
    assert_challenge(r, realm="pbx.ringfence.test")
    assert r.reason, "a status line needs a reason phrase"
    assert_no_binding(instance, "1001")


@pytest.mark.parametrize("alg", ["SHA-256", "MD5"])
def test_authenticated_register_is_accepted_and_listed(pbx, mkua, alg):
    ua = mkua(pbx, "1001", user_agent="rf-test-ua/" + alg)
    ch, ok = ua.register(alg=alg, expires=3600)
    assert_challenge(ch)
    assert ok.status == 200, ok.raw
    assert ok.get("server") is None and ok.get("user-agent") is None, ok.raw
    contacts = ok.contacts()
    assert [u for u, _ in contacts] == [contact_uri(ua.contact)], ok.raw
    assert 3590 <= int(contacts[0][1]["expires"]) <= 3600, ok.raw

    rows = bindings_of(pbx, "1001")
    assert len(rows) == 1, rows
    row = rows[0]
    assert contact_uri(row["contact"]) == contact_uri(ua.contact)
    assert row["source"] == f"127.0.0.1:{ua.conn.local_port}"
    assert str(row["transport"]).lower() == "udp"
    assert row["user_agent"] == "rf-test-ua/" + alg
    assert 3500 < remaining_seconds(row) <= 3601
    assert wait_for_event(pbx, "register_ok", 'ext="1001"'), pbx.security_events()
    text = pbx.cli("reg", "list").stdout
    line = next((l for l in text.splitlines() if "1001" in l), "")
    for part in (contact_uri(ua.contact), f"127.0.0.1:{ua.conn.local_port}", "udp"):
        assert part in line, text


def test_wrong_password_gets_a_fresh_challenge(pbx, mkua):
    ua = mkua(pbx, "1001")
    ch, r = ua.register(password="Wrong-Passw0rd!x")
    p1, _ = assert_challenge(r)
    assert p1.get("stale", "false").lower() != "true"
    assert_no_binding(pbx, "1001")
    lines = wait_for_event(pbx, "auth_failed", "reason=wrong_password")
    assert lines and "src=127.0.0.1:" in lines[0], pbx.security_events()


def test_unknown_user_gets_the_same_challenge(pbx, mkua):
    ua = mkua(pbx, "1009", password="Some-Guess9!x")
    ch, r = ua.register()
    assert_challenge(ch)
    assert_challenge(r)
    assert_no_binding(pbx, "1009")
    lines = wait_for_event(pbx, "auth_failed", "reason=unknown_user")
    assert lines, pbx.security_events()


def test_correct_password_after_a_wrong_one_registers(pbx, mkua):
    ua = mkua(pbx, "1001")
    _, bad = ua.register(password="Wrong-Passw0rd!x")
    assert bad.status == 401
    auth = ua.auth_for(bad, "SHA-256")
    ok = ua.request(auth=auth)
    assert ok.status == 200, ok.raw
    assert len(bindings_of(pbx, "1001")) == 1


# ------------------------------------------------------------------- nonces

def _tamper(nonce, pos):
    c = nonce[pos]
    return nonce[:pos] + ("0" if c != "0" else "1") + nonce[pos + 1:]


@pytest.mark.parametrize("pos", [0, 7, 8, 39], ids=["time-hi", "time-lo", "mac-first", "mac-last"])
def test_tampered_nonce_is_refused(pbx, mkua, pos):
    ua = mkua(pbx, "1001")
    ch = ua.request()
    params = pick_challenge(ch, "SHA-256")
    forged = _tamper(params["nonce"], pos)
    r = ua.request(auth=ua.auth_for(ch, "SHA-256", nonce=forged))
    p1, _ = assert_challenge(r)
    # A forged nonce is not "ours but old": no stale=true for it.
    assert p1.get("stale", "false").lower() != "true", r.raw
    assert p1["nonce"] != forged
    assert_no_binding(pbx, "1001")


def test_nonce_issued_to_another_address_is_refused(pbx, mkua):
    a = mkua(pbx, "1001", src="127.0.0.1")
    b = mkua(pbx, "1001", src="127.0.0.2")
    ch = a.request()
    r = b.request(auth=b.auth_for(ch, "SHA-256"))
    assert_challenge(r)
    assert_no_binding(pbx, "1001")


@pytest.mark.skipif(not env_flag("RF_SLOW"), reason="waits 31 s; set RF_SLOW=1")
def test_stale_nonce_gets_stale_true(instance, mkua):
    instance.set_conf("registrar", "nonce_lifetime", "30")
    instance.start()
    ua = mkua(instance, "1001")
    ch = ua.request()
    time.sleep(31)
    r = ua.request(auth=ua.auth_for(ch, "SHA-256"))
    p1, p2 = assert_challenge(r)
    assert p1.get("stale", "").lower() == "true", r.raw
    assert p2.get("stale", "").lower() == "true", r.raw
    assert_no_binding(instance, "1001")
    assert wait_for_event(instance, "auth_failed", "reason=stale_nonce")
    ok = ua.request(auth=ua.auth_for(r, "SHA-256"))
    assert ok.status == 200, ok.raw


# ------------------------------------------------------ identity checks

def test_digest_uri_must_match_request_uri(pbx, mkua):
    ua = mkua(pbx, "1001")
    ch = ua.request()
    # A correct digest, but computed over another URI than the request's.
    auth = ua.auth_for(ch, "SHA-256", uri="sip:elsewhere.ringfence.test")
    r = ua.request(auth=auth)
    assert r is not None and r.status != 200 and r.status >= 400, r.raw
    assert_no_binding(pbx, "1001")


def test_to_must_be_the_authenticated_user(pbx, mkua):
    # 1001's valid credentials used to bind a contact to 1002.
    ua = mkua(pbx, "1001")
    ch = ua.request(to_user="1002")
    assert ch.status == 401
    r = ua.request(to_user="1002", auth=ua.auth_for(ch, "SHA-256"))
    assert r is not None and r.status in (401, 403), r.raw
    assert_no_binding(pbx, "1002")
    assert_no_binding(pbx, "1001")


# ------------------------------------------------------------------ expires

def test_expires_below_minimum_gets_423_with_min_expires(instance, mkua):
    instance.set_conf("registrar", "min_expires", "60")
    instance.start()
    ua = mkua(instance, "1001")
    _, r = ua.register(expires=30)
    assert r.status == 423, r.raw
    assert r.get("min-expires") == "60", r.raw
    assert r.get("server") is None and r.get("user-agent") is None, r.raw
    assert_no_binding(instance, "1001")
    # The same UA with an acceptable value is fine.
    _, ok = ua.register(expires=60)
    assert ok.status == 200, ok.raw


def test_contact_expires_param_below_minimum_gets_423(instance, mkua):
    instance.set_conf("registrar", "min_expires", "60")
    instance.start()
    ua = mkua(instance, "1001")
    c = "<sip:1001@127.0.0.1:40001>;expires=10"
    _, r = ua.register(expires=None, contact=c)
    assert r.status == 423, r.raw
    assert r.get("min-expires") == "60"
    assert_no_binding(instance, "1001")


def test_expires_above_maximum_is_clamped(pbx, mkua):
    ua = mkua(pbx, "1001")
    _, r = ua.register(expires=7200)
    assert r.status == 200, r.raw
    (uri, params), = r.contacts()
    assert 3590 <= int(params["expires"]) <= 3600, r.raw
    row, = bindings_of(pbx, "1001")
    assert 3500 < remaining_seconds(row) <= 3601


def test_expires_zero_removes_only_that_contact(pbx, mkua):
    ua = mkua(pbx, "1001")
    c1, c2 = "<sip:1001@127.0.0.1:40001>", "<sip:1001@127.0.0.1:40002>"
    assert ua.register(contact=c1)[1].status == 200
    assert ua.register(contact=c2)[1].status == 200
    assert len(bindings_of(pbx, "1001")) == 2
    _, r = ua.register(contact=c1, expires=0)
    assert r.status == 200, r.raw
    assert [u for u, _ in r.contacts()] == [contact_uri(c2)], r.raw
    rows = bindings_of(pbx, "1001")
    assert [contact_uri(x["contact"]) for x in rows] == [contact_uri(c2)]
    assert wait_for_event(pbx, "register_removed")


def test_star_contact_removes_all(pbx, mkua):
    ua = mkua(pbx, "1001")
    for p in (40001, 40002, 40003):
        assert ua.register(contact=f"<sip:1001@127.0.0.1:{p}>")[1].status == 200
    other = mkua(pbx, "1002")
    assert other.register()[1].status == 200
    assert len(bindings_of(pbx, "1001")) == 3
    _, r = ua.register(contact="*", expires=0)
    assert r.status == 200, r.raw
    assert r.contacts() == [], r.raw
    assert_no_binding(pbx, "1001")
    assert len(bindings_of(pbx, "1002")) == 1, "another extension's binding was touched"


def test_star_contact_needs_expires_zero(pbx, mkua):
    ua = mkua(pbx, "1001")
    assert ua.register()[1].status == 200
    _, r = ua.register(contact="*", expires=3600)
    assert r.status == 400, r.raw
    assert len(bindings_of(pbx, "1001")) == 1


def test_bindings_expire(instance, mkua):
    instance.set_conf("registrar", "min_expires", "1")
    instance.start()
    ua = mkua(instance, "1001")
    _, r = ua.register(expires=2)
    assert r.status == 200, r.raw
    assert len(bindings_of(instance, "1001")) == 1
    gone = wait_until(lambda: bindings_of(instance, "1001") == [], timeout=6, interval=0.25)
    assert gone, bindings_of(instance, "1001")


# ------------------------------------------------------------ contact limit

def test_contact_limit_refuses_the_fourth(pbx, mkua):
    ua = mkua(pbx, "1001")
    three = [f"<sip:1001@127.0.0.1:{p}>" for p in (40001, 40002, 40003)]
    for c in three:
        assert ua.register(contact=c)[1].status == 200
    _, r = ua.register(contact="<sip:1001@127.0.0.1:40004>")
    assert r.status == 403, r.raw
    assert r.get("server") is None and r.get("user-agent") is None, r.raw
    rows = bindings_of(pbx, "1001")
    assert sorted(contact_uri(x["contact"]) for x in rows) == sorted(contact_uri(c) for c in three)
    # Refreshing one of the three is not a new contact and still works.
    assert ua.register(contact=three[0])[1].status == 200


def test_contact_limit_applies_within_one_request(pbx, mkua):
    ua = mkua(pbx, "1001")
    four = [f"<sip:1001@127.0.0.1:{p}>" for p in (40001, 40002, 40003, 40004)]
    _, r = ua.register(contacts=four)
    assert r.status == 403, r.raw
    assert_no_binding(pbx, "1001")  # nothing partial is applied


def test_contact_limit_is_configurable(instance, mkua):
    instance.set_conf("registrar", "max_contacts", "1")
    instance.start()
    ua = mkua(instance, "1001")
    assert ua.register(contact="<sip:1001@127.0.0.1:40001>")[1].status == 200
    _, r = ua.register(contact="<sip:1001@127.0.0.1:40002>")
    assert r.status == 403, r.raw
    assert len(bindings_of(instance, "1001")) == 1


# ---------------------------------------------------- Call-ID/CSeq ordering

def _fresh_nonce_auth(ua, mkua_, inst, alg="SHA-256"):
    """An Authorization for ua built on a new nonce, fetched with another
    Call-ID so ua's own dialog is untouched."""
    probe = mkua_(inst, ua.user, src=ua.conn.local_ip)
    ch = probe.request()
    assert ch.status == 401
    return authorization(alg, ua.user, pick_challenge(ch, alg)["realm"], ua.password,
                         "REGISTER", ua.ruri, pick_challenge(ch, alg)["nonce"])


def test_replayed_cseq_is_not_applied(pbx, mkua):
    ua = mkua(pbx, "1001")
    _, ok = ua.register(expires=3600)
    assert ok.status == 200
    done = ua.cseq
    # Same Call-ID, same CSeq, new transaction: an old request replayed.
    r = ua.request(cseq=done, expires=0, auth=_fresh_nonce_auth(ua, mkua, pbx))
    assert r is not None and r.status != 200, r.raw
    assert len(bindings_of(pbx, "1001")) == 1, "a replayed CSeq removed the binding"
    # A lower CSeq is not applied either.
    r = ua.request(cseq=done - 1, expires=0, auth=_fresh_nonce_auth(ua, mkua, pbx))
    assert r is not None and r.status != 200, r.raw
    assert len(bindings_of(pbx, "1001")) == 1, "a lower CSeq removed the binding"
    # A higher CSeq in the same Call-ID is applied.
    r = ua.request(cseq=done + 10, expires=0, auth=_fresh_nonce_auth(ua, mkua, pbx))
    assert r.status == 200, r.raw
    assert_no_binding(pbx, "1001")


def test_replay_after_unregister_does_not_restore_the_binding(pbx, mkua):
    """An eavesdropper replays a captured authenticated REGISTER (only the
    Via branch changed, as a new transaction) after the phone unregistered
    in the same Call-ID: the older CSeq must not bring the binding back."""
    ua = mkua(pbx, "1001")
    ch = ua.request()
    auth = ua.auth_for(ch, "SHA-256")
    captured = ua.build(auth=auth, expires=3600)
    ok = ua.transact(captured)
    assert ok.status == 200, ok.raw
    _, gone = ua.register(expires=0)
    assert gone.status == 200, gone.raw
    assert bindings_of(pbx, "1001") == []
    replay = re.sub(rb";branch=[^;\r\n]+", b";branch=z9hG4bK" + b"5eed" * 4, captured, count=1)
    r = ua.transact(replay)
    assert r is not None and r.status != 200, r.raw
    assert bindings_of(pbx, "1001") == [], "a replayed REGISTER restored the binding"


def test_several_contacts_in_one_request(pbx, mkua):
    ua = mkua(pbx, "1001")
    two = ["<sip:1001@127.0.0.1:40001>", "<sip:1001@127.0.0.1:40002>;expires=120"]
    _, ok = ua.register(contacts=two, expires=600)
    assert ok.status == 200, ok.raw
    got = {u: int(p["expires"]) for u, p in ok.contacts()}
    assert set(got) == {contact_uri(c) for c in two}, ok.raw
    assert 590 <= got["sip:1001@127.0.0.1:40001"] <= 600
    assert 110 <= got["sip:1001@127.0.0.1:40002"] <= 120
    assert len(bindings_of(pbx, "1001", n=2)) == 2


# ----------------------------------------------------------- received/rport

def test_source_address_is_recorded_not_the_via(pbx, mkua):
    ua = mkua(pbx, "1001", src="127.0.0.9")
    # Via and Contact claim another (loopback, silent) address; the answer
    # must come back to the real source and the binding must record it.
    fake = "127.0.0.200:5999"
    ua.conn.sent_by = lambda: fake
    ua.contact = f"<sip:1001@{fake}>"
    _, ok = ua.register()
    assert ok.status == 200, ok.raw
    via = ok.get("via")
    assert "received=127.0.0.9" in via, via
    assert f"rport={ua.conn.local_port}" in via, via
    row, = bindings_of(pbx, "1001")
    assert row["source"] == f"127.0.0.9:{ua.conn.local_port}"
    assert contact_uri(row["contact"]) == f"sip:1001@{fake}"


# --------------------------------------------------------------------- ACL

def test_acl_permit_and_deny(instance, mkua):
    pw = instance.add_ext("1005", "--permit", "127.0.0.5/32")
    pbx = instance.start()
    ok_ua = mkua(pbx, "1005", src="127.0.0.5", password=pw)
    _, ok = ok_ua.register()
    assert ok.status == 200, ok.raw
    bad_ua = mkua(pbx, "1005", src="127.0.0.6", password=pw)
    ch, r = bad_ua.register()
    assert_challenge(ch)
    assert_challenge(r)
    rows = bindings_of(pbx, "1005")
    assert [x["source"] for x in rows] == [f"127.0.0.5:{ok_ua.conn.local_port}"]
    lines = wait_for_event(pbx, "acl_denied", "src=127.0.0.6:")
    assert lines, pbx.security_events()
    assert "1005" in lines[0]


# ---------------------------------------------------------- robustness

def test_daemon_survives_garbage_and_still_registers(pbx, mkua):
    for junk in (b"", b"\r\n\r\n", b"REGISTER\r\n\r\n", b"\x00" * 64,
                 b"SIP/2.0 200 OK\r\n\r\n", b"REGISTER sip:x SIP/2.0\r\nContent-Length: 99999999999\r\n\r\n"):
        udp_exchange(junk, "127.0.0.1", pbx.port, timeout=0.2)
    assert pbx.proc.poll() is None
    assert mkua(pbx, "1001").register()[1].status == 200


def test_acl_deny_entry_wins(instance, mkua):
    pw = instance.add_ext("1007", "--permit", "127.0.0.0/8", "--deny", "127.0.0.7/32")
    pbx = instance.start()
    denied = mkua(pbx, "1007", src="127.0.0.7", password=pw)
    _, r = denied.register()
    assert_challenge(r)
    assert wait_for_event(pbx, "acl_denied", "src=127.0.0.7:"), pbx.security_events()
    allowed = mkua(pbx, "1007", src="127.0.0.8", password=pw)
    assert allowed.register()[1].status == 200
    assert [x["source"] for x in bindings_of(pbx, "1007")] == [f"127.0.0.8:{allowed.conn.local_port}"]


def test_md5_only_offer(instance, mkua):
    """[registrar] digest_algorithms = md5: one MD5 challenge, and SHA-256
    credentials are refused because they were not offered."""
    instance.set_conf("registrar", "digest_algorithms", "md5")
    pbx = instance.start()
    ua = mkua(pbx, "1001")
    ch = ua.request()
    offers = [v for k, v in ch.headers if k.lower() == "www-authenticate"]
    assert len(offers) == 1 and "algorithm=MD5" in offers[0], ch.raw
    _, ok = ua.register(alg="MD5")
    assert ok.status == 200, ok.raw


def test_retransmitted_register_is_answered_again_not_applied_again(pbx, mkua):
    """A UDP retransmission (same Call-ID, CSeq and branch) gets the same
    200 again; the binding is not re-applied and no second event is logged."""
    ua = mkua(pbx, "1001")
    ch = ua.request()
    data = ua.build(auth=ua.auth_for(ch, "SHA-256"), expires=600)
    first = ua.transact(data)
    assert first.status == 200, first.raw
    time.sleep(1.1)  # a re-application would show as a later expiry
    again = ua.transact(data)
    assert again.status == 200, again.raw
    # Applied again, the binding would be renewed to the full 600 s.
    assert [int(p["expires"]) for _, p in again.contacts()] < \
        [int(p["expires"]) for _, p in first.contacts()], (first.raw, again.raw)
    rows = bindings_of(pbx, "1001")
    assert len(rows) == 1
    assert len(pbx.security_events("register_ok")) == 1
