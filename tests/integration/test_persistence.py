"""Registrations survive a restart, and directory changes reach the running
daemon without one."""
import time

from sipua import bindings_of, contact_uri, remaining_seconds, wait_until
from sipua import mkua  # noqa: F401  (fixture)


def test_binding_survives_restart_and_refresh_works(pbx, mkua):
    ua = mkua(pbx, "1001", user_agent="rf-persist/1")
    _, ok = ua.register(expires=3600)
    assert ok.status == 200, ok.raw
    before, = bindings_of(pbx, "1001")

    assert pbx.stop() == 0, "daemon did not exit cleanly on SIGTERM"
    pbx.start()

    after, = bindings_of(pbx, "1001")
    for key in ("contact", "source", "transport", "user_agent"):
        assert after[key] == before[key], (key, before, after)
    assert abs(remaining_seconds(after) - remaining_seconds(before)) < 30

    # A refresh in the same dialog (same Call-ID, higher CSeq) is accepted
    # by the restarted daemon, which remembered the CSeq.
    _, again = ua.register(expires=1800)
    assert again.status == 200, again.raw
    row, = bindings_of(pbx, "1001")
    assert 1700 < remaining_seconds(row) <= 1801

    # And an old CSeq of that Call-ID is still refused after the restart.
    old = ua.cseq - 1
    ch = mkua(pbx, "1001").request()
    r = ua.request(cseq=old, expires=0, auth=ua.auth_for(ch, "SHA-256"))
    assert r is not None and r.status != 200, r.raw
    assert len(bindings_of(pbx, "1001")) == 1


def test_removal_survives_restart(pbx, mkua):
    ua = mkua(pbx, "1001")
    assert ua.register()[1].status == 200
    assert ua.register(expires=0)[1].status == 200
    pbx.stop()
    pbx.start()
    assert bindings_of(pbx, "1001") == []


def test_several_extensions_and_transports_survive_restart(pbx, mkua):
    uas = [mkua(pbx, "1001", "udp"), mkua(pbx, "1002", "tcp")]
    for ua in uas:
        assert ua.register()[1].status == 200
    before = sorted((r["ext"], r["contact"], r["transport"]) for r in bindings_of(pbx, "1001") + bindings_of(pbx, "1002"))
    pbx.stop()
    pbx.start()
    after = sorted((r["ext"], r["contact"], r["transport"]) for r in bindings_of(pbx, "1001") + bindings_of(pbx, "1002"))
    assert after == before and len(after) == 2


def test_ext_added_while_running_is_usable_within_a_second(pbx, mkua):
    t0 = time.monotonic()
    pw = pbx.add_ext("1010")
    ua = mkua(pbx, "1010", password=pw)

    def registered():
        _, r = ua.register(timeout=1.0)
        return r.status == 200

    assert wait_until(registered, timeout=2.0, interval=0.1), "new extension not usable within 2 s"
    assert time.monotonic() - t0 < 5
    assert len(bindings_of(pbx, "1010")) == 1


def test_password_change_and_delete_reach_running_daemon(pbx, mkua):
    old = pbx.passwords["1002"]
    out = pbx.cli("ext", "passwd", "1002").stdout
    new = out.split("password:")[-1].split()[0]
    assert new and new != old

    def refused_with(pw):
        return mkua(pbx, "1002", password=pw).register(timeout=1.0)[1].status == 401

    def accepted_with(pw):
        return mkua(pbx, "1002", password=pw).register(timeout=1.0)[1].status == 200

    assert wait_until(lambda: refused_with(old), timeout=2.0, interval=0.1)
    assert accepted_with(new)
    pbx.cli("ext", "del", "1002")
    assert wait_until(lambda: refused_with(new), timeout=2.0, interval=0.1)
    assert bindings_of(pbx, "1002") == []


def test_registration_right_before_sigterm_is_kept(pbx, mkua):
    """Write-through is batched; a clean shutdown must flush the batch."""
    ua = mkua(pbx, "1001")
    _, ok = ua.register()
    assert ok.status == 200
    pbx.stop()  # at once, inside the same batching interval
    pbx.start()
    rows = bindings_of(pbx, "1001")
    assert [contact_uri(r["contact"]) for r in rows] == [contact_uri(ua.contact)]


def test_expired_binding_is_not_restored(instance, mkua):
    instance.set_conf("registrar", "min_expires", "1")
    instance.start()
    ua = mkua(instance, "1001")
    assert ua.register(expires=2)[1].status == 200
    assert len(bindings_of(instance, "1001", n=1)) == 1
    instance.stop()
    time.sleep(3)
    instance.start()
    assert bindings_of(instance, "1001") == []
    # And it stays gone: the daemon did not bring it back in memory either.
    other = mkua(instance, "1001")
    _, r = other.register(contact="<sip:1001@127.0.0.1:40009>")
    assert r.status == 200
    assert [u for u, _ in r.contacts()] == ["sip:1001@127.0.0.1:40009"], r.raw
