"""The ban engine in the real daemon (S4, S6): bans after failed
authentication, silence for a banned source, scans of the numbering plan,
account locks against distributed guessing, blocked pairs behind NAT,
whitelists, persistence across a restart, and the CLI lifting bans.

Every attacker and phone has its own 127.x address, so one test's ban never
touches another source."""
import json
import re
import time

import pytest

from sipua import UA, Conn, reg_list, wait_until


def ua(inst, user, password, src, transport="udp"):
    conn = Conn(transport, "127.0.0.1", inst.port, src=src)
    return UA(conn, user, password)


def wrong_password(inst, user, src, times):
    """`times` REGISTERs with a wrong password from src; returns the last
    final answer (None when the daemon went silent)."""
    u = ua(inst, user, "not-the-password-9Q", src)
    last = None
    try:
        for _ in range(times):
            _, last = u.register(password="not-the-password-9Q", timeout=2.0)
    except AssertionError:
        return None  # no answer: silence
    finally:
        u.conn.close()
    return last


def silent(inst, src, user="1001"):
    """Whether a fresh REGISTER from src gets no answer at all."""
    u = ua(inst, user, "x", src)
    try:
        return u.request(timeout=1.5) is None
    finally:
        u.conn.close()


def events(inst, name, **fields):
    out = []
    for line in inst.security_events(name):
        if all(f" {k}={v}" in line + " " for k, v in fields.items()):
            out.append(line)
    return out


@pytest.fixture
def pbx_guarded(instance):
    instance.start()
    yield instance


def test_five_failures_ban_the_source_and_it_gets_silence(pbx_guarded):
    inst = pbx_guarded
    src = "127.0.5.1"
    for _ in range(4):
        r = wrong_password(inst, "1001", src, 1)
        assert r is not None and r.status == 401, r
    assert not events(inst, "ban_added", addr=src)
    r = wrong_password(inst, "1001", src, 1)
    assert r is not None and r.status == 401, "the fifth failure is still answered"
    assert wait_until(lambda: events(inst, "ban_added", addr=src, reason="auth_failures"), 3)
    line = events(inst, "ban_added", addr=src)[0]
    assert " duration=900 " in line and " level=0 " in line, line
    assert silent(inst, src), "a banned source must get no answer"
    # Every other address is untouched, and the real phone still registers.
    _, ok = ua(inst, "1001", inst.passwords["1001"], "127.0.5.2").register()
    assert ok.status == 200, ok


def test_ban_survives_a_restart_and_the_cli_lifts_it(pbx_guarded):
    inst = pbx_guarded
    src = "127.0.5.3"
    wrong_password(inst, "1002", src, 5)
    assert wait_until(lambda: events(inst, "ban_added", addr=src), 3)
    inst.stop()
    inst.start()
    assert silent(inst, src), "the ban must survive a restart"
    listed = json.loads(inst.cli("ban", "list", "--json").stdout)
    rows = listed if isinstance(listed, list) else next(iter(listed.values()))
    assert any(r.get("addr", r.get("address")) == src for r in rows), listed
    inst.cli("ban", "del", src)
    assert wait_until(lambda: not silent(inst, src), 5), "ban del must reach the daemon"


def test_walking_the_numbering_plan_bans_the_scanner(pbx_guarded):
    inst = pbx_guarded
    src = "127.0.5.4"
    conn = Conn("udp", "127.0.0.1", inst.port, src=src)
    answered = 0
    try:
        for ext in range(2000, 2030):
            u = UA(conn, str(ext), "x")
            r = u.request(timeout=1.0)
            if r is not None:
                assert r.status == 401, r
                answered += 1
    finally:
        conn.close()
    # The default is 20 different extensions without authenticating one.
    assert answered == 20, answered
    assert events(inst, "ban_added", addr=src, reason="scan")


def test_distributed_guessing_locks_the_account_until_unlocked(pbx_guarded):
    inst = pbx_guarded
    # 20 failures from 20 addresses: no address reaches its own threshold.
    for i in range(20):
        r = wrong_password(inst, "1001", f"127.0.6.{i + 1}", 1)
        assert r is not None and r.status == 401
    assert wait_until(lambda: events(inst, "account_locked", ext='"1001"'), 3)
    assert not events(inst, "ban_added")
    # Locked: the right password gets exactly the wrong-password answer.
    good = ua(inst, "1001", inst.passwords["1001"], "127.0.6.100")
    _, r = good.register()
    assert r.status == 401, r
    assert events(inst, "auth_failed", ext='"1001"', reason="locked")
    locked = inst.cli("ext", "locked", "--json").stdout
    assert "1001" in locked, locked
    inst.cli("ext", "unlock", "1001")
    def registers():
        _, fin = ua(inst, "1001", inst.passwords["1001"], "127.0.6.101").register()
        return fin.status == 200
    assert wait_until(registers, 5), "ext unlock must reach the daemon"


def test_nat_office_blocks_the_failing_device_not_the_office(pbx_guarded):
    inst = pbx_guarded
    office = "127.0.7.1"
    phone = ua(inst, "1001", inst.passwords["1001"], office)
    _, ok = phone.register()
    assert ok.status == 200, ok
    # One device behind the same address keeps failing for 1002.
    wrong_password(inst, "1002", office, 5)
    assert wait_until(lambda: events(inst, "pair_blocked", ext='"1002"'), 3)
    assert not events(inst, "ban_added", addr=office)
    # The good phone goes on registering from the office address.
    _, again = ua(inst, "1001", inst.passwords["1001"], office).register()
    assert again.status == 200, again
    # The blocked pair gets silence, even with the right password.
    blocked = ua(inst, "1002", inst.passwords["1002"], office)
    first = blocked.request(timeout=1.5)
    assert first is not None and first.status == 401  # a bare challenge is answered
    auth = blocked.auth_for(first)
    assert blocked.request(timeout=1.5, auth=auth) is None
    blocked.conn.close()


def test_whitelisted_network_is_never_banned(instance):
    instance.set_conf("guard", "whitelist", "127.0.8.0/24")
    instance.start()
    src = "127.0.8.9"
    r = wrong_password(instance, "1001", src, 12)
    assert r is not None and r.status == 401
    assert not events(instance, "ban_added")
    assert not silent(instance, src)


def test_guard_can_be_turned_off(instance):
    instance.set_conf("guard", "enabled", "false")
    instance.start()
    src = "127.0.8.20"
    wrong_password(instance, "1001", src, 8)
    assert not events(instance, "ban_added")
    assert not silent(instance, src)


def test_bad_guard_config_is_refused_with_file_and_line(instance):
    instance.set_conf("guard", "ban_failures", "0")
    r = instance.cli("check-config", check=False)
    assert r.returncode != 0
    assert re.search(r"ringfence\.conf:\d+: .*ban_failures", r.stderr + r.stdout), r.stderr


def options_from(inst, src):
    """An OPTIONS from src; returns the answer's bytes or None."""
    from sipua import udp_exchange, new_branch, new_tag, new_call_id
    msg = (f"OPTIONS sip:127.0.0.1:{inst.port} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {src}:5099;branch={new_branch()};rport\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:probe@{src}>;tag={new_tag()}\r\n"
           f"To: <sip:127.0.0.1:{inst.port}>\r\n"
           f"Call-ID: {new_call_id()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()
    return udp_exchange(msg, "127.0.0.1", inst.port, src=src, timeout=1.5)


def test_known_scanner_agent_gets_silence_and_a_ban(pbx_guarded):
    inst = pbx_guarded
    src = "127.0.9.1"
    scanner = ua(inst, "1001", "x", src)
    scanner.user_agent = "friendly-scanner"
    assert scanner.request(timeout=1.5) is None
    scanner.conn.close()
    assert wait_until(lambda: events(inst, "scanner_detected", tool="sipvicious"), 3)
    assert events(inst, "ban_added", addr=src, reason="scan")
    assert silent(inst, src), "the scanner's next request, renamed, gets silence too"
    # A product that scanners also imitate is not on the list.
    phone = ua(inst, "1002", inst.passwords["1002"], "127.0.9.2")
    phone.user_agent = "Zoiper rv2.10"
    _, ok = phone.register()
    assert ok.status == 200, ok


SCANNER_REQUESTS = 300
SCANNER_SECONDS = 1.6


def test_a_scanner_behind_an_address_with_phones_is_dropped_and_logged_ten_times_a_second(
        pbx_guarded):
    """A scanner on a PC behind an office's NAT: its requests get silence,
    the office's phone goes on, the address is not banned, and the tool's
    stream of requests writes at most 10 scanner_detected lines a second."""
    inst = pbx_guarded
    src = "127.0.9.10"
    phone = ua(inst, "1001", inst.passwords["1001"], src)
    scanner = ua(inst, "1002", "x", src)
    scanner.user_agent = "friendly-scanner"
    try:
        _, ok = phone.register()
        assert ok.status == 200, ok
        # Start just after a second begins, so no second of the run is
        # shared with requests from before it.
        time.sleep(1.05 - time.time() % 1.0)
        sent, deadline = 0, time.monotonic() + SCANNER_SECONDS + 1.0
        while sent < SCANNER_REQUESTS and time.monotonic() < deadline:
            scanner.conn.send(scanner.build())
            sent += 1
            time.sleep(max(0.0, SCANNER_SECONDS / SCANNER_REQUESTS - 0.0005))
        answer = scanner.conn.recv_raw(1.5)
        _, again = phone.register()
    finally:
        phone.conn.close()
        scanner.conn.close()
    assert sent == SCANNER_REQUESTS, sent
    assert answer is None, f"a scanner's request must get silence: {answer!r}"
    assert again.status == 200, "the office's phone keeps working"
    assert not events(inst, "ban_added", addr=src), "an address with phones is not banned"
    lines = events(inst, "scanner_detected", tool="sipvicious")
    assert lines and all(f" src={src}:" in l for l in lines), lines
    per_second = {}
    for line in lines:
        per_second[line[:19]] = per_second.get(line[:19], 0) + 1  # to the second
    assert max(per_second.values()) <= 10, per_second


def test_configured_scanner_agents_are_dropped_too(instance):
    instance.set_conf("guard", "scanner_agents", "EvilDialer, WarBot/")
    instance.start()
    bot = ua(instance, "1001", "x", "127.0.9.3")
    bot.user_agent = "warbot/2.1"
    assert bot.request(timeout=1.5) is None
    bot.conn.close()
    assert wait_until(lambda: events(instance, "scanner_detected", tool="configured"), 3)


def test_options_is_answered_only_to_addresses_with_phones(pbx_guarded):
    inst = pbx_guarded
    assert options_from(inst, "127.0.9.5") is None, "OPTIONS from a stranger must get silence"
    _, ok = ua(inst, "1001", inst.passwords["1001"], "127.0.9.6").register()
    assert ok.status == 200
    answer = options_from(inst, "127.0.9.6")
    assert answer is not None and answer.startswith(b"SIP/2.0 200"), answer
    assert b"Server:" not in answer and b"User-Agent:" not in answer


def test_registration_from_a_new_network_is_flagged(pbx_guarded):
    inst = pbx_guarded
    _, ok = ua(inst, "1001", inst.passwords["1001"], "127.0.10.1").register()
    assert ok.status == 200
    # The same network (/24) again: nothing to report.
    _, ok = ua(inst, "1001", inst.passwords["1001"], "127.0.10.2").register()
    assert ok.status == 200
    assert not events(inst, "register_new_network")
    _, ok = ua(inst, "1001", inst.passwords["1001"], "127.0.11.1").register()
    assert ok.status == 200, "the default policy alerts but accepts"
    line = wait_until(lambda: events(inst, "register_new_network", ext='"1001"'), 3)
    assert line and " previous=127.0.10.0/24 " in line[0] and " action=accepted" in line[0], line


def test_registration_from_a_new_network_can_be_denied(instance):
    instance.set_conf("security", "new_network_registration", "deny")
    instance.start()
    _, ok = ua(instance, "1001", instance.passwords["1001"], "127.0.12.1").register()
    assert ok.status == 200
    _, refused = ua(instance, "1001", instance.passwords["1001"], "127.0.13.1").register()
    assert refused.status == 403, refused
    assert wait_until(lambda: events(instance, "register_new_network", action="denied"), 3)
    def sources():
        return [r["source"] for r in reg_list(instance)]
    assert wait_until(lambda: any(s.startswith("127.0.12.1:") for s in sources()), 3), sources()
    assert not any(s.startswith("127.0.13.1:") for s in sources()), sources()


def test_sighup_starts_a_new_security_log_after_rotation(pbx_guarded):
    import os
    import signal
    inst = pbx_guarded
    rotated = inst.seclog + ".1"
    os.rename(inst.seclog, rotated)
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: os.path.exists(inst.seclog), 5), "no new security log"
    wrong_password(inst, "1001", "127.0.14.1", 1)
    assert wait_until(lambda: events(inst, "auth_failed", reason="wrong_password"), 3)
    with open(rotated) as f:
        assert "reason=wrong_password" not in f.read()


def test_a_reload_names_the_changed_settings_it_cannot_apply(pbx_guarded):
    import signal
    from conftest import free_port
    inst = pbx_guarded
    assert wait_until(lambda: events(inst, "daemon_started"), 10)
    inst.set_conf("sip", "port", str(free_port()))
    inst.set_conf("guard", "ban_failures", "2")
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: events(inst, "config_changed"), 10), inst.security_events()
    assert " not_applied=1" in events(inst, "config_changed")[0]
    assert events(inst, "config_not_applied", section="sip", key="port", reason="restart")
    assert len(events(inst, "config_not_applied")) == 1
    assert wait_until(lambda: "changed settings NOT applied, the running values stay: sip.port\n"
                      in inst.daemon_output(), 5), inst.daemon_output()
    # The daemon still answers on the port it bound, with the change it
    # could apply in force: two failures ban now.
    assert wrong_password(inst, "1001", "127.0.16.1", 2) is not None
    assert wait_until(lambda: events(inst, "ban_added", addr="127.0.16.1"), 5)
    assert silent(inst, "127.0.16.1")


def test_a_captured_authorization_cannot_be_replayed(pbx_guarded):
    """qop=auth signs the method and URI, not the Contact: without replay
    protection, whoever sniffed one REGISTER could send its Authorization
    with a Contact of their own while the nonce lives."""
    inst = pbx_guarded
    phone = ua(inst, "1001", inst.passwords["1001"], "127.0.15.1")
    first = phone.request(timeout=2.0)
    assert first.status == 401
    auth = phone.auth_for(first)
    ok = phone.request(timeout=2.0, auth=auth)
    assert ok.status == 200, ok
    # The attacker, on the same LAN address, with a new Call-ID and Contact.
    thief = ua(inst, "1001", "unknown", "127.0.15.1")
    thief.contact = "<sip:1001@127.0.15.1:6666>"
    again = thief.request(timeout=2.0, auth=auth)
    assert again is not None and again.status == 401, again
    assert wait_until(lambda: events(inst, "auth_failed", ext='"1001"', reason="replayed"), 3)
    assert not any(r["contact"].endswith(":6666") for r in reg_list(inst))
    # The phone itself goes on: a fresh challenge, a fresh nonce.
    _, fin = phone.register()
    assert fin.status == 200, fin
