"""Trunk registration against a provider (P4): the daemon registers with
digest, refreshes before expiry, stops on refused credentials instead of
hammering the provider, finds the provider through NAPTR/SRV/A with a
private DNS server, and reaches TLS providers only with a verified
certificate and name.

The provider is SIPp (MD5, checked with verifyauth) or trunkpeer.Registrar
(SHA-256, and TLS); DNS is trunkpeer.DnsServer. All on loopback."""
import os
import re
import shutil
import signal
import ssl
import subprocess
import time

import pytest

from conftest import free_port
from trunkpeer import (DnsServer, Registrar, TestCA, tls_server_context, trunk_show,
                       wait_trunk_state)

SIPP = shutil.which("sipp")
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "sipp")
USER = "acct-4471"
PASSWORD = "Pr0vider-S3cret-pw"


def no_secret_anywhere(inst):
    """The password, its digest inputs and our Authorization header never
    reach the operational or security log."""
    text = inst.daemon_output() + "\n".join(inst.security_events())
    assert PASSWORD not in text
    assert "Authorization" not in text
    assert "nonce" not in text.lower()


def start_sipp(workdir, port, password, expires=10):
    cmd = [SIPP, "-sf", os.path.join(DATA, "provider-registrar.xml"), "-m", "10",
           "-i", "127.0.0.1", "-p", str(port), "-nostdin",
           "-key", "user", USER, "-key", "pass", password, "-key", "expires", str(expires),
           "-trace_msg", "-message_file", os.path.join(workdir, "provider.msg"),
           "-trace_err", "-error_file", os.path.join(workdir, "provider.err")]
    proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc


def sipp_registers(workdir):
    """REGISTER requests the SIPp provider received."""
    try:
        with open(os.path.join(workdir, "provider.msg")) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return re.findall(r"^REGISTER sip:\S+ SIP/2\.0\r?$", text, re.M)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def add_trunk(inst, host, *extra, password=PASSWORD):
    inst.cli("trunk", "add", "prov", "--host", host, "--register", "--username", USER,
             "--password", password, *extra)


# ---- digest against SIPp ----

@pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed")
def test_registers_with_md5_digest_and_refreshes_before_expiry(instance, workdir):
    port = free_port()
    sipp = start_sipp(workdir, port, PASSWORD, expires=10)
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(port))
        instance.start()
        t = wait_trunk_state(instance, "registered")
        assert t["last_code"] == "200"
        assert t["reason"] == "-"
        # Expires about 10 s from now; the refresh is due before that.
        assert t["expires"] > t["registered_at"]
        assert t["next_attempt"] < t["expires"]
        ev = instance.security_events("trunk_registered")
        assert len(ev) == 1 and 'trunk="prov"' in ev[0] and "expires=10" in ev[0], ev
        assert f"src=127.0.0.1:{port} proto=udp" in ev[0]
        # First REGISTER challenged, the second answered; within the 10 s
        # grant the refresh repeats both, so the registration never lapses.
        time.sleep(9.5)
        regs = sipp_registers(workdir)
        assert len(regs) >= 4, regs
        t = trunk_show(instance)
        assert t["state"] == "registered"
        assert len(instance.security_events("trunk_registered")) == 1
        assert instance.security_events("trunk_registration_failed") == []
        # The list says it too.
        assert "registered" in instance.cli("trunk", "list").stdout
    finally:
        stop(sipp)
    no_secret_anywhere(instance)


@pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed")
def test_wrong_password_fails_with_reason_and_does_not_hammer(instance, workdir):
    port = free_port()
    sipp = start_sipp(workdir, port, "the-right-one")
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(port))
        instance.start()
        t = wait_trunk_state(instance, "failed")
        assert t["last_code"] == "403"
        assert "refused the credentials" in t["reason"]
        assert t["next_attempt"] == "-"
        # Over the next 6 s nothing more is tried: one challenge, one answer.
        time.sleep(6)
        assert len(sipp_registers(workdir)) == 2
        ev = instance.security_events("trunk_registration_failed")
        assert len(ev) == 1 and "reason=forbidden" in ev[0] and "code=403" in ev[0], ev
        assert instance.security_events("trunk_registered") == []
    finally:
        stop(sipp)
    no_secret_anywhere(instance)


@pytest.mark.skipif(SIPP is None, reason="sipp (Debian sip-tester) not installed")
def test_changing_the_trunk_registers_again(instance, workdir):
    port = free_port()
    sipp = start_sipp(workdir, port, PASSWORD)
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(port), password="wrong-one")
        instance.start()
        wait_trunk_state(instance, "failed")
        instance.cli("trunk", "del", "prov")
        add_trunk(instance, "127.0.0.1", "--port", str(port))
        wait_trunk_state(instance, "registered")
    finally:
        stop(sipp)


# ---- SHA-256 and backoff against the Python registrar ----

def test_registers_with_sha256_digest(instance):
    reg = Registrar(USER, PASSWORD, alg="SHA-256", expires=60)
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(reg.port))
        instance.start()
        t = wait_trunk_state(instance, "registered")
        assert t["last_code"] == "200"
        auth = [r for r in reg.requests if "Authorization:" in r]
        assert len(auth) == 1
        assert "algorithm=SHA-256" in auth[0] and "qop=auth" in auth[0]
        assert "nc=00000001" in auth[0] and "cnonce=" in auth[0]
    finally:
        reg.close()
    no_secret_anywhere(instance)


def test_no_answer_is_retried_with_backoff(instance):
    port = free_port()  # nothing listens there
    add_trunk(instance, "127.0.0.1", "--port", str(port))
    instance.start()
    t = wait_trunk_state(instance, "failed", timeout=45)
    assert t["reason"] == "no answer from the provider"
    # The first retry waits the documented minimum of 30 s.
    assert t["next_attempt"] != "-"
    ev = instance.security_events("trunk_registration_failed")
    assert len(ev) == 1 and "reason=timeout" in ev[0]


def test_interval_too_brief_asks_for_the_providers_minimum(instance):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=7200, min_expires=7200)
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(reg.port))
        instance.start()
        wait_trunk_state(instance, "registered")
        # 3600 first, refused with 423, then the provider's 7200.
        assert "Expires: 3600\r\n" in reg.requests[0]
        assert all("Expires: 7200\r\n" in r for r in reg.requests[1:])
    finally:
        reg.close()


def test_stopped_daemon_leaves_the_trunk_off(instance):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(reg.port))
        instance.start()
        wait_trunk_state(instance, "registered")
        instance.stop()
        t = trunk_show(instance)
        assert t["state"] == "off" and t["reason"] == "the daemon is not running", t
        assert t["expires"] == "-"
    finally:
        reg.close()


# ---- DNS ----

@pytest.fixture
def dns_provider(instance):
    """A SHA-256 registrar at sip1.provider.test, found through NAPTR ->
    SRV -> A at a private DNS server the instance is configured to use."""
    reg = Registrar(USER, PASSWORD, alg="SHA-256", expires=60)
    dns = DnsServer({
        ("provider.test", "NAPTR"): [
            (300, (10, 50, "s", "SIP+D2T", "", "_sip._tcp.provider.test")),
            (300, (20, 50, "s", "SIP+D2U", "", "_sip._udp.provider.test"))],
        ("_sip._udp.provider.test", "SRV"): [
            (300, (20, 10, 9, "backup.provider.test")),
            (300, (10, 10, reg.port, "sip1.provider.test"))],
        ("sip1.provider.test", "A"): [(300, "127.0.0.1")],
        ("backup.provider.test", "A"): [(300, "127.0.0.9")],
    })
    instance.set_conf("trunks", "dns_servers", dns.addr)
    yield reg, dns
    dns.close()
    reg.close()


def test_provider_found_through_naptr_srv_and_a(instance, dns_provider):
    reg, dns = dns_provider
    add_trunk(instance, "provider.test")
    instance.start()
    wait_trunk_state(instance, "registered")
    asked = dns.queries
    assert ("provider.test", "NAPTR") in asked
    assert ("_sip._udp.provider.test", "SRV") in asked
    assert ("sip1.provider.test", "A") in asked
    # Priority 10 first: the backup was never needed.
    assert ("backup.provider.test", "A") not in asked or \
        asked.index(("sip1.provider.test", "A")) < asked.index(("backup.provider.test", "A"))
    assert reg.requests[0].startswith("REGISTER sip:provider.test SIP/2.0")
    assert f"To: <sip:{USER}@provider.test>" in reg.requests[0]


def test_next_srv_target_when_the_first_refuses_over_tcp(instance):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=60, tcp=True)
    dead = free_port()  # nothing listens: the connect is refused
    dns = DnsServer({
        ("provider.test", "NAPTR"): [],
        ("_sip._tcp.provider.test", "SRV"): [
            (300, (10, 0, dead, "sip1.provider.test")),
            (300, (20, 0, reg.port, "sip2.provider.test"))],
        ("sip1.provider.test", "A"): [(300, "127.0.0.1")],
        ("sip2.provider.test", "A"): [(300, "127.0.0.1")],
    })
    instance.set_conf("trunks", "dns_servers", dns.addr)
    try:
        add_trunk(instance, "provider.test", "--transport", "tcp")
        instance.start()
        wait_trunk_state(instance, "registered")
        assert ("_sip._tcp.provider.test", "SRV") in dns.queries
        assert "Via: SIP/2.0/TCP " in reg.requests[0]
        assert f"127.0.0.1:{dead}" in instance.daemon_output()
        assert "trying the next address" in instance.daemon_output()
    finally:
        dns.close()
        reg.close()


def test_unknown_host_fails_with_dns_reason(instance, dns_provider):
    add_trunk(instance, "nowhere.test")
    instance.start()
    t = wait_trunk_state(instance, "failed")
    assert "cannot resolve nowhere.test" in t["reason"]
    ev = instance.security_events("trunk_registration_failed")
    assert ev and "reason=dns" in ev[0]


# ---- TLS ----

def tls_registrar(cert, key, names):
    ctx = tls_server_context(cert, key)
    ctx.sni_callback = lambda sock, name, c: names.append(name)
    return Registrar(USER, PASSWORD, alg="SHA-256", expires=60, tls_ctx=ctx)


def test_tls_with_a_good_certificate_registers_and_sends_sni(instance, workdir, tls_env):
    cert, key = tls_env.leaf("good", dns=["provider.test"])
    names = []
    reg = tls_registrar(cert, key, names)
    try:
        add_trunk(instance, "provider.test", "--port", str(reg.port), "--transport", "tls")
        instance.start()
        t = wait_trunk_state(instance, "registered")
        assert t["last_code"] == "200"
        assert names and names[0] == "provider.test"
        assert "Via: SIP/2.0/TLS " in reg.requests[0]
        assert instance.security_events("tls_verify_failed") == []
    finally:
        reg.close()
    no_secret_anywhere(instance)


@pytest.mark.parametrize("case,reason", [
    ("wrong_name", "hostname mismatch"),
    ("untrusted_ca", "unable to get local issuer certificate"),
    ("expired", "certificate has expired"),
])
def test_tls_verification_failures_send_nothing(instance, workdir, tls_env, case, reason):
    if case == "wrong_name":
        cert, key = tls_env.leaf("other", dns=["other.test"])
    elif case == "untrusted_ca":
        cert, key = TestCA(workdir, cn="Someone Else's CA").leaf("rogue", dns=["provider.test"])
    else:
        cert, key = tls_env.leaf("old", dns=["provider.test"], days_valid=(-30, -1))
    reg = tls_registrar(cert, key, [])
    try:
        add_trunk(instance, "provider.test", "--port", str(reg.port), "--transport", "tls")
        instance.start()
        t = wait_trunk_state(instance, "failed")
        assert reason in t["reason"], t
        assert t["reason"].startswith("tls_verify_failed")
        assert t["next_attempt"] != "-"  # retried later, verified again
        time.sleep(0.5)
        # The handshake was refused: not one byte of SIP reached the server.
        assert reg.requests == []
        ev = instance.security_events("tls_verify_failed")
        assert len(ev) == 1 and 'name="provider.test"' in ev[0] and reason.split()[0] in ev[0], ev
        ev = instance.security_events("trunk_registration_failed")
        assert ev and "reason=tls_verify_failed" in ev[0]
    finally:
        reg.close()


def mutual_tls_registrar(ca):
    """A TLS registrar for provider.test that requires a client
    certificate from the test CA."""
    cert, key = ca.leaf("good", dns=["provider.test"])
    ctx = tls_server_context(cert, key)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(ca.path)
    return Registrar(USER, PASSWORD, alg="SHA-256", expires=60, tls_ctx=ctx)


def test_mutual_tls_presents_our_certificate(instance, workdir, tls_env):
    ours, our_key = tls_env.leaf("pbx", dns=["pbx.example"])
    reg = mutual_tls_registrar(tls_env)
    try:
        add_trunk(instance, "provider.test", "--port", str(reg.port), "--transport", "tls")
        instance.set_conf("trunks", "tls_client_cert", ours)
        instance.set_conf("trunks", "tls_client_key", our_key)
        instance.start()
        wait_trunk_state(instance, "registered")
        assert reg.handshake_errors == []
    finally:
        reg.close()


def test_mutual_tls_without_our_certificate_fails(instance, workdir, tls_env):
    reg = mutual_tls_registrar(tls_env)
    try:
        add_trunk(instance, "provider.test", "--port", str(reg.port), "--transport", "tls")
        instance.start()
        t = wait_trunk_state(instance, "failed")
        # TLS 1.3 completes our side of the handshake first; the provider
        # then refuses and closes, and the REGISTER never reaches it.
        assert t["reason"].split(":")[0] in ("tls_handshake", "closed"), t
        assert reg.requests == []
    finally:
        reg.close()


def test_client_key_that_does_not_match_stops_the_daemon(instance, workdir, tls_env):
    ours, _ = tls_env.leaf("pbx", dns=["pbx.example"])
    _, other_key = tls_env.leaf("other", dns=["other.example"])
    instance.set_conf("trunks", "tls_client_cert", ours)
    instance.set_conf("trunks", "tls_client_key", other_key)
    p = subprocess.run([os.environ.get("RINGFENCE_BIN", "build/ringfence"), "-c", instance.conf,
                        "serve"], capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    assert "does not match" in p.stderr


# ---- un-REGISTER ----

def hdr(text, name):
    m = re.search(rf"^{name}: (.*?)\r?$", text, re.M | re.I)
    return m.group(1) if m else None


def wait_for(cond, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def unregisters(reg):
    return [r for r in list(reg.requests) if hdr(r, "Expires") == "0"]


def the_binding(reg):
    """(Contact URI, Call-ID) of the one binding reg holds."""
    bound = reg.current_bindings()
    assert len(bound) == 1, bound
    return next(iter(bound.items()))


def assert_unregistered(inst, reg, contact, call_id, cause, name="prov"):
    """reg dropped the binding after an Expires: 0 REGISTER for the same
    Contact and Call-ID, challenged once and answered with a digest it
    accepted (it drops a binding for nothing else), and the daemon logged
    it."""
    wait_for(lambda: reg.current_bindings() == {}, "the provider to drop the binding")
    gone = unregisters(reg)
    assert len(gone) == 2, gone
    assert "Authorization:" not in gone[0] and "Authorization:" in gone[1]
    for r in gone:
        assert hdr(r, "Call-ID") == call_id
        assert hdr(r, "Contact").startswith(f"<{contact}>")
    cseqs = [int(hdr(r, "CSeq").split()[0]) for r in reg.requests]
    assert cseqs == sorted(set(cseqs)), cseqs
    wait_for(lambda: any(f'trunk="{name}"' in e for e in inst.security_events("trunk_unregistered")),
             "the trunk_unregistered event")
    ev = [e for e in inst.security_events("trunk_unregistered") if f'trunk="{name}"' in e]
    assert len(ev) == 1 and f"cause={cause}" in ev[0] and "code=200" in ev[0], ev
    assert inst.security_events("trunk_unregistration_failed") == []


def registered(inst, reg, host="127.0.0.1", *extra):
    """Start the daemon with trunk prov at reg; once it is registered,
    (Contact URI, Call-ID) of its binding."""
    add_trunk(inst, host, "--port", str(reg.port), *extra)
    inst.start()
    wait_trunk_state(inst, "registered")
    return the_binding(reg)


def registrar_for(request, transport):
    """(registrar, host) for a trunk over UDP or verified TLS."""
    if transport == "tls":
        cert, key = request.getfixturevalue("tls_env").leaf("good", dns=["provider.test"])
        return tls_registrar(cert, key, []), "provider.test"
    return Registrar(USER, PASSWORD, alg="SHA-256", expires=60), "127.0.0.1"


@pytest.fixture
def paused(instance):
    """Runs CLI commands while the daemon is stopped, so that its next
    store poll sees them as one change of the trunk. `trunk set` changes
    only caps; a new host or --register turned off is `trunk del` and
    `trunk add`, which the daemon must not see as two steps here."""
    def run(*commands):
        instance.proc.send_signal(signal.SIGSTOP)
        try:
            for c in commands:
                instance.cli(*c)
        finally:
            instance.proc.send_signal(signal.SIGCONT)
    return run


@pytest.mark.parametrize("transport", ["udp", "tls"])
def test_deleting_a_trunk_unregisters_its_binding(instance, request, transport):
    reg, host = registrar_for(request, transport)
    try:
        contact, call_id = registered(instance, reg, host, "--transport", transport)
        instance.cli("trunk", "del", "prov")
        assert_unregistered(instance, reg, contact, call_id, "deleted")
        assert f"trunk prov: un-registered (deleted)" in instance.daemon_output()
    finally:
        reg.close()
    no_secret_anywhere(instance)


def test_turning_registration_off_unregisters(instance, paused):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    try:
        contact, call_id = registered(instance, reg)
        paused(("trunk", "del", "prov"),
               ("trunk", "add", "prov", "--host", "127.0.0.1", "--port", str(reg.port)))
        assert_unregistered(instance, reg, contact, call_id, "register_off")
        wait_trunk_state(instance, "off")
        time.sleep(1)
        assert len(reg.requests) == 4  # register, answer, un-register, answer
    finally:
        reg.close()


def test_moving_a_trunk_unregisters_the_old_binding_first(instance, paused):
    old = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    new = Registrar(USER, PASSWORD, alg="SHA-256", expires=60)
    try:
        contact, call_id = registered(instance, old)
        paused(("trunk", "del", "prov"),
               ("trunk", "add", "prov", "--host", "127.0.0.1", "--port", str(new.port),
                "--register", "--username", USER, "--password", PASSWORD))
        assert_unregistered(instance, old, contact, call_id, "changed")
        wait_for(lambda: len(new.current_bindings()) == 1, "the new binding")
        wait_trunk_state(instance, "registered")
        # The new binding is asked for only once the old one has gone: a
        # provider that saw both for one Contact could drop the new one.
        assert old.received_at[-1] <= new.received_at[0]
        assert hdr(new.requests[0], "Call-ID") != call_id
    finally:
        old.close()
        new.close()


def test_changing_a_cap_keeps_the_registration(instance):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    try:
        contact, call_id = registered(instance, reg)
        instance.cli("trunk", "set", "prov", "--daily-cap", "50")
        time.sleep(1.5)  # the daemon reads the change within a second
        assert unregisters(reg) == [] and len(reg.requests) == 2
        assert trunk_show(instance)["state"] == "registered"
        # The binding it keeps is the one the deletion then takes away.
        instance.cli("trunk", "del", "prov")
        assert_unregistered(instance, reg, contact, call_id, "deleted")
    finally:
        reg.close()


def test_stopping_the_daemon_unregisters_every_trunk(instance, tls_env):
    udp = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    cert, key = tls_env.leaf("good", dns=["provider.test"])
    tls = tls_registrar(cert, key, [])
    try:
        add_trunk(instance, "127.0.0.1", "--port", str(udp.port))
        instance.cli("trunk", "add", "prov2", "--host", "provider.test", "--port", str(tls.port),
                     "--transport", "tls", "--register", "--username", USER,
                     "--password", PASSWORD)
        instance.start()
        wait_trunk_state(instance, "registered")
        wait_trunk_state(instance, "registered", name="prov2")
        bound = [the_binding(udp), the_binding(tls)]
        assert instance.stop() == 0
        # Both answered before the daemon exited.
        assert_unregistered(instance, udp, *bound[0], "stopping")
        assert_unregistered(instance, tls, *bound[1], "stopping", name="prov2")
        for name in ("prov", "prov2"):
            t = trunk_show(instance, name)
            assert t["state"] == "off" and t["reason"] == "the daemon is not running", t
    finally:
        udp.close()
        tls.close()
    no_secret_anywhere(instance)


def test_stop_is_bounded_when_the_provider_does_not_answer(instance):
    reg = Registrar(USER, PASSWORD, alg="MD5", expires=60)
    try:
        contact, call_id = registered(instance, reg)
        reg.silent = True
        assert instance.stop() == 0  # fails the test after 10 s
        gone = unregisters(reg)
        assert gone and all(hdr(r, "Call-ID") == call_id for r in gone)
        assert reg.current_bindings() == {contact: call_id}
        ev = instance.security_events("trunk_unregistration_failed")
        assert len(ev) == 1 and "cause=stopping" in ev[0] and "reason=timeout" in ev[0], ev
        assert instance.security_events("trunk_unregistered") == []
        assert "daemon_stopped" in "\n".join(instance.security_events())
    finally:
        reg.close()
