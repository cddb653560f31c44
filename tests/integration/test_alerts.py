"""Alerts to the administrator (S18) from the real daemon and CLI: an email
through a local SMTP sink (aiosmtpd) and a JSON POST to a local HTTPS
receiver whose throwaway certificate the test makes and names in ca_file.

Bans, account locks and reloads raise alerts; `alert test` reports each
channel; a sink that is down is retried, a restart resends what was queued,
and a storm of bans becomes a few mails and a summary."""
import http.server
import json
import os
import re
import signal
import socket
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

from conftest import free_port
from sipua import UA, Conn, wait_until
from smtpsink import SMTP_PASSWORD, SmtpSink


# ---- the sinks (the SMTP one is smtpsink.py) ----

def make_cert(d):
    cert, key = os.path.join(d, "hook-cert.pem"), os.path.join(d, "hook-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(cert, 0o644)
    return cert, key


class WebhookSink:
    """HTTPS on a loopback port; records each POST, answers `status`."""

    def __init__(self, cert, key, port=0):
        self.posts = []
        self.status = 200
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                sink.posts.append((self.path, dict(self.headers), body))
                self.send_response(sink.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()

    def of_kind(self, kind):
        out = []
        for _, _, body in list(self.posts):
            doc = json.loads(body)
            if doc["kind"] == kind:
                out.append(doc)
        return out


@pytest.fixture
def certs(workdir):
    return make_cert(workdir)


@pytest.fixture
def smtp():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def hook(certs):
    w = WebhookSink(*certs)
    yield w
    w.stop()


def configure(inst, smtp_port=None, hook=None, ca=None, **alerts):
    if smtp_port:
        inst.set_conf("alerts", "smtp_url", f"smtp://127.0.0.1:{smtp_port}")
        inst.set_conf("alerts", "mail_from", "pbx@example.org")
        inst.set_conf("alerts", "mail_to", "admin@example.org, night@example.org")
    if hook:
        inst.set_conf("alerts", "webhook_url", f"https://127.0.0.1:{hook.port}/hooks/t0k3n-secret")
    if ca:
        inst.set_conf("alerts", "ca_file", ca)
    for k, v in alerts.items():
        inst.set_conf("alerts", k, str(v))


def events(inst, name, **fields):
    return [l for l in inst.security_events(name)
            if all(f" {k}={v}" in l + " " for k, v in fields.items())]


def ban_from(inst, src, user="1001"):
    """Fail once from src (ban_failures = 1 bans it)."""
    u = UA(Conn("udp", "127.0.0.1", inst.port, src=src), user, "not-the-password-9Q")
    try:
        u.register(password="not-the-password-9Q", timeout=2.0)
    except AssertionError:
        pass
    finally:
        u.conn.close()
    assert wait_until(lambda: events(inst, "ban_added", addr=src), 10), src


def queued(inst):
    db = sqlite3.connect(os.path.join(inst.dir, "ringfence.db"), timeout=10)
    try:
        return db.execute("SELECT kind, subject, pending, attempts FROM alerts").fetchall()
    finally:
        db.close()


def no_secret_anywhere(inst, *texts):
    for t in texts + (open(inst.seclog).read(), inst.daemon_output() if inst.proc or
                      getattr(inst, "stderr_path", None) else ""):
        assert SMTP_PASSWORD not in t
        assert "t0k3n-secret" not in t


# ---- alert test ----

def test_alert_test_reaches_both_sinks(instance, smtp, hook, certs):
    configure(instance, smtp.port, hook, certs[0])
    p = instance.cli("alert", "test", check=False)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^email\s+admin@example.org, night@example.org via smtp://127.0.0.1:%d\s+sent$"
                     % smtp.port, p.stdout, re.M), p.stdout
    assert re.search(r"^webhook\s+https://127.0.0.1:%d\s+sent$" % hook.port, p.stdout, re.M), p.stdout
    assert "t0k3n" not in p.stdout
    assert wait_until(lambda: smtp.of_kind("test"), 10)
    frm, rcpt, msg, _ = smtp.of_kind("test")[0]
    assert frm == "pbx@example.org"
    assert sorted(rcpt) == ["admin@example.org", "night@example.org"]
    assert msg["Subject"] == "[Ringfence 127.0.0.1] Test alert"
    doc = hook.of_kind("test")[0]
    assert doc["subject"] == "Test alert" and doc["realm"] == "127.0.0.1"
    assert set(doc) >= {"id", "kind", "time", "subject", "text", "host", "realm"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", doc["time"])
    path, headers, _ = hook.posts[0]
    assert path == "/hooks/t0k3n-secret"
    assert headers["Content-Type"] == "application/json"
    assert len(events(instance, "alert_sent", kind="test")) == 2

    j = instance.cli("alert", "test", "--json", check=False)
    assert j.returncode == 0, j.stderr
    rows = json.loads(j.stdout)
    assert [r["channel"] for r in rows] == ["email", "webhook"]
    assert all(r["ok"] and r["result"] == "sent" for r in rows)


def test_alert_test_fails_clearly(instance, hook, certs):
    down = free_port()
    configure(instance, down, hook, certs[0], smtp_user="alerts", smtp_password=SMTP_PASSWORD)
    hook.status = 500
    p = instance.cli("alert", "test", check=False)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "2 of 2 channels failed" in p.stderr, p.stderr
    assert re.search(r"email to admin@example.org, night@example.org via smtp://127.0.0.1:%d: "
                     r"connection refused" % down, p.stderr), p.stderr
    assert "webhook to https://127.0.0.1:%d: HTTP status 500" % hook.port in p.stderr, p.stderr
    assert events(instance, "alert_failed", kind="test", channel="email")
    no_secret_anywhere(instance, p.stdout, p.stderr)

    # The receiver's self-signed certificate is not trusted without ca_file.
    instance.set_conf("alerts", "ca_file", "")
    hook.status = 200
    p = instance.cli("alert", "test", check=False)
    assert p.returncode == 1
    assert re.search(r"webhook to https://127.0.0.1:%d: TLS failure" % hook.port, p.stderr), p.stderr


def test_alert_test_without_channels(instance):
    p = instance.cli("alert", "test", check=False)
    assert p.returncode == 1
    assert "no alert channel is configured" in p.stderr, p.stderr
    assert "[alerts]" in p.stderr


def test_config_is_checked_and_secrets_are_redacted(instance):
    configure(instance, 2525, smtp_user="alerts", smtp_password=SMTP_PASSWORD)
    out = instance.cli("check-config").stdout
    assert "smtp_password = <redacted>" in out
    assert SMTP_PASSWORD not in out
    instance.set_conf("alerts", "webhook_url", "http://127.0.0.1:9/x")
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1 and "webhook_url: must be an https:// URL in [alerts]" in p.stderr, p.stderr
    instance.set_conf("alerts", "webhook_url", "")
    instance.set_conf("alerts", "smtp_url", "smtp://u:p@mail.example.org:587")
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1 and "holds credentials" in p.stderr, p.stderr
    instance.set_conf("alerts", "smtp_url", "smtps://mail.example.org")
    instance.set_conf("alerts", "mail_to", "admin@example.org, not an address")
    p = instance.cli("check-config", check=False)
    assert p.returncode == 1 and "'not an address' is not an email address" in p.stderr, p.stderr


# ---- the daemon ----

def test_ban_sends_an_email_and_a_webhook(instance, smtp, hook, certs):
    configure(instance, smtp.port, hook, certs[0])
    instance.set_conf("guard", "ban_failures", "1")
    instance.start()
    ban_from(instance, "127.0.7.1")
    assert wait_until(lambda: smtp.of_kind("ban_added") and hook.of_kind("ban_added"), 30)
    _, _, msg, raw = smtp.of_kind("ban_added")[0]
    assert msg["Subject"] == "[Ringfence 127.0.0.1] Banned 127.0.7.1 (auth_failures)"
    assert "ringfence ban del 127.0.7.1" in msg.get_content()
    doc = hook.of_kind("ban_added")[0]
    assert doc["subject"] == "Banned 127.0.7.1 (auth_failures)"
    assert doc["realm"] == "127.0.0.1"
    assert wait_until(lambda: len(events(instance, "alert_sent", kind="ban_added")) == 2, 10)
    assert events(instance, "alert_raised", kind="ban_added", channels="email,webhook")
    assert wait_until(lambda: queued(instance) == [], 10)


def test_reload_and_lock_raise_alerts(instance, smtp):
    configure(instance, smtp.port)
    instance.set_conf("guard", "lock_failures", "4")
    instance.set_conf("guard", "lock_sources", "2")
    instance.start()
    # Signals are handled once the daemon says it started.
    assert wait_until(lambda: events(instance, "daemon_started"), 10)
    instance.proc.send_signal(1)  # SIGHUP
    assert wait_until(lambda: smtp.of_kind("config_changed"), 30)
    # Distributed guessing of one extension from two addresses locks it.
    for i in range(4):
        src = f"127.0.8.{1 + i % 2}"
        u = UA(Conn("udp", "127.0.0.1", instance.port, src=src), "1002", "wrong-Pa55-word")
        try:
            u.register(password="wrong-Pa55-word", timeout=2.0)
        except AssertionError:
            pass
        u.conn.close()
    assert wait_until(lambda: smtp.of_kind("account_locked"), 30), instance.security_events()
    _, _, msg, _ = smtp.of_kind("account_locked")[0]
    assert msg["Subject"] == "[Ringfence 127.0.0.1] Extension 1002 locked"
    assert "ringfence ext unlock 1002" in msg.get_content()


# ---- reload ----

def reload(inst, n):
    """SIGHUP; wait for the n-th config_changed event."""
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: len(events(inst, "config_changed")) >= n, 10), inst.security_events()


def rcpts(sink, kind):
    return [sorted(m[1]) for m in sink.of_kind(kind)]


def started(inst):
    inst.start()
    # Signals are handled once the daemon says it started.
    assert wait_until(lambda: events(inst, "daemon_started"), 10)


def test_reload_sends_the_next_alerts_to_the_new_recipients_and_server(instance, smtp):
    configure(instance, smtp.port)
    instance.set_conf("guard", "ban_failures", "1")
    started(instance)
    ban_from(instance, "127.0.7.21")
    assert wait_until(lambda: smtp.of_kind("ban_added"), 30)
    old = ["admin@example.org", "night@example.org"]
    assert rcpts(smtp, "ban_added") == [old]

    instance.set_conf("alerts", "mail_to", "oncall@example.org")
    reload(instance, 1)
    ban_from(instance, "127.0.7.22")
    assert wait_until(lambda: len(smtp.of_kind("ban_added")) == 2, 30), instance.security_events()
    assert rcpts(smtp, "ban_added") == [old, ["oncall@example.org"]]
    # The reload's own alert already goes out with the new settings.
    assert rcpts(smtp, "config_changed") == [["oncall@example.org"]]
    assert "Every changed setting is in force." in smtp.of_kind("config_changed")[0][2].get_content()
    assert " not_applied=0" in events(instance, "config_changed")[0]
    assert not events(instance, "config_not_applied")

    # Another server entirely: the old one hears nothing more.
    new = SmtpSink().start()
    try:
        instance.set_conf("alerts", "smtp_url", f"smtp://127.0.0.1:{new.port}")
        reload(instance, 2)
        ban_from(instance, "127.0.7.23")
        assert wait_until(lambda: new.of_kind("ban_added"), 30), instance.security_events()
        assert "127.0.7.23" in new.of_kind("ban_added")[0][2]["Subject"]
        assert rcpts(new, "ban_added") == [["oncall@example.org"]]
        assert wait_until(lambda: queued(instance) == [], 10)
        assert len(smtp.of_kind("ban_added")) == 2 and len(smtp.of_kind("config_changed")) == 1
        assert len(new.mails) == 2  # the reload's alert and the ban
    finally:
        new.stop()


def test_reload_delivers_the_alerts_queued_for_a_server_that_is_down(instance, smtp):
    down = SmtpSink()  # never started
    configure(instance, down.port)
    instance.set_conf("guard", "ban_failures", "1")
    instance.set_conf("alerts", "smtp_password", SMTP_PASSWORD)
    instance.set_conf("alerts", "smtp_user", "alerts")
    started(instance)
    ban_from(instance, "127.0.7.24")
    assert wait_until(lambda: events(instance, "alert_failed", kind="ban_added"), 20)
    assert [r[0] for r in queued(instance)] == ["ban_added"]

    instance.set_conf("alerts", "smtp_url", f"smtp://127.0.0.1:{smtp.port}")
    instance.set_conf("alerts", "smtp_user", "")
    instance.set_conf("alerts", "smtp_password", "")
    reload(instance, 1)
    assert wait_until(lambda: smtp.of_kind("ban_added") and smtp.of_kind("config_changed"), 30), \
        instance.security_events()
    assert wait_until(lambda: queued(instance) == [], 10)
    # Sent once: nothing of it is left to send again.
    time.sleep(1.5)
    assert len(smtp.of_kind("ban_added")) == 1
    assert "127.0.7.24" in smtp.of_kind("ban_added")[0][2]["Subject"]
    no_secret_anywhere(instance)


def test_invalid_new_alert_settings_keep_the_running_ones(instance, smtp):
    configure(instance, smtp.port)
    instance.set_conf("guard", "ban_failures", "1")
    started(instance)
    old = ["admin@example.org", "night@example.org"]

    # A file with an error is refused whole, and the running channels say so.
    instance.set_conf("alerts", "mail_to", "oncall@example.org, not an address")
    instance.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: smtp.of_kind("config_changed"), 30), instance.security_events()
    _, to, msg, _ = smtp.of_kind("config_changed")[0]
    assert sorted(to) == old
    assert msg["Subject"] == "[Ringfence 127.0.0.1] Configuration not reloaded"
    assert "'not an address' is not an email address" in msg.get_content()
    assert "configuration not reloaded:" in instance.daemon_output()
    assert not events(instance, "config_changed")

    # What the file cannot show: a CA file the daemon cannot read. The
    # rest of the file applies; [alerts] keeps its running values.
    instance.set_conf("alerts", "mail_to", "oncall@example.org")
    instance.set_conf("alerts", "ca_file", "missing-ca.pem")
    instance.set_conf("guard", "ban_time", "1234")
    reload(instance, 1)
    assert " not_applied=2" in events(instance, "config_changed")[0]
    for key in ("mail_to", "ca_file"):
        assert events(instance, "config_not_applied", section="alerts", key=key, reason="refused")
    out = instance.daemon_output()
    assert re.search(r"\[alerts\] not reloaded \(ca_file \S+/missing-ca.pem cannot be read: "
                     r"No such file or directory\); the running settings stay", out), out
    assert "changed settings NOT applied, the running values stay: alerts.mail_to, " \
        "alerts.ca_file" in out, out
    assert wait_until(lambda: len(smtp.of_kind("config_changed")) == 2, 30)
    _, to, msg, _ = smtp.of_kind("config_changed")[1]
    assert sorted(to) == old
    text = msg.get_content()
    assert "NOT applied and keep their running values: alerts.mail_to, alerts.ca_file." in text
    assert "missing-ca.pem cannot be read" in text

    ban_from(instance, "127.0.7.25")
    assert wait_until(lambda: smtp.of_kind("ban_added"), 30)
    assert rcpts(smtp, "ban_added") == [old]
    # The guard's change did apply.
    assert " duration=1234" in events(instance, "ban_added", addr="127.0.7.25")[0]


def test_no_channel_logs_the_alert_only(instance):
    instance.set_conf("guard", "ban_failures", "1")
    instance.start()
    ban_from(instance, "127.0.7.9")
    assert wait_until(lambda: events(instance, "alert_raised", kind="ban_added", channels="none"), 10)
    assert queued(instance) == []


def test_down_sink_is_retried(instance):
    sink = SmtpSink()
    configure(instance, sink.port)
    instance.set_conf("guard", "ban_failures", "1")
    instance.start()
    try:
        ban_from(instance, "127.0.7.2")
        assert wait_until(lambda: events(instance, "alert_failed", kind="ban_added"), 20)
        line = events(instance, "alert_failed", kind="ban_added")[0]
        assert 'error="connection\\x20refused:' in line and " retry_in=5" in line, line
        sink.start()
        assert wait_until(lambda: sink.of_kind("ban_added"), 40), instance.security_events()
        assert wait_until(lambda: queued(instance) == [], 10)
        assert events(instance, "alert_sent", kind="ban_added", channel="email")
    finally:
        sink.stop()


def test_queued_alert_survives_a_restart(instance):
    sink = SmtpSink()
    configure(instance, sink.port)
    instance.set_conf("guard", "ban_failures", "1")
    instance.start()
    try:
        ban_from(instance, "127.0.7.3")
        assert wait_until(lambda: events(instance, "alert_failed", kind="ban_added"), 20)
        assert instance.stop() == 0
        rows = queued(instance)
        assert len(rows) == 1 and rows[0][0] == "ban_added" and rows[0][3] >= 1, rows
        sink.start()
        instance.start()
        assert wait_until(lambda: sink.of_kind("ban_added"), 30), instance.security_events()
        assert "127.0.7.3" in sink.of_kind("ban_added")[0][2]["Subject"]
        assert wait_until(lambda: queued(instance) == [], 10)
    finally:
        sink.stop()


def test_a_storm_of_bans_is_folded_into_a_summary(instance, smtp):
    configure(instance, smtp.port, rate_limit=3, rate_window=10)
    instance.set_conf("guard", "ban_failures", "1")
    instance.start()
    deadline = time.time() + 120
    for i in range(100):
        assert time.time() < deadline
        ban_from(instance, f"127.0.9.{i + 1}")
    assert len(events(instance, "ban_added")) == 100
    # The window ends 10 s after the first ban; the summary follows it.
    def folded():
        n = 0
        for _, _, msg, _ in smtp.of_kind("summary"):
            m = re.search(r"\] (\d+) more bans in the last 10 seconds$", msg["Subject"])
            assert m, msg["Subject"]
            n += int(m.group(1))
        return n
    assert wait_until(lambda: folded() == 97, 60), [m[2]["Subject"] for m in smtp.mails]
    assert len(smtp.of_kind("ban_added")) == 3
    assert len(smtp.mails) <= 3 + 1 + 120 // 10


def test_registration_from_a_new_network_raises_an_alert(instance, hook, certs):
    configure(instance, hook=hook, ca=certs[0])
    instance.start()

    def register(src):
        u = UA(Conn("udp", "127.0.0.1", instance.port, src=src), "1001", instance.passwords["1001"])
        try:
            return u.register()[1].status
        finally:
            u.conn.close()
    assert register("127.0.14.1") == 200
    assert register("127.0.14.2") == 200  # the same /24: no alert
    assert register("127.0.15.1") == 200  # the default policy alerts and accepts
    assert wait_until(lambda: hook.of_kind("new_network"), 30), instance.security_events()
    docs = hook.of_kind("new_network")
    assert len(docs) == 1, docs
    assert docs[0]["subject"] == "Extension 1001 registered from a new network"
    assert "from 127.0.15.1, while its registrations were in 127.0.14.0/24" in docs[0]["text"]
    assert "accepted" in docs[0]["text"]


def test_a_flood_ban_raises_a_flood_alert(instance, smtp):
    configure(instance, smtp.port)
    instance.set_conf("guard", "flood_rate", "1")
    instance.set_conf("guard", "flood_burst", "5")
    instance.set_conf("guard", "flood_time", "2")
    instance.start()
    src = "127.0.16.1"
    conn = Conn("udp", "127.0.0.1", instance.port, src=src)
    try:
        u = UA(conn, "1001", "x")
        end = time.monotonic() + 15
        while time.monotonic() < end and not events(instance, "ban_added", addr=src):
            conn.send(u.build())
            time.sleep(0.05)
    finally:
        conn.close()
    assert events(instance, "ban_added", addr=src, reason="flood"), instance.security_events()
    assert wait_until(lambda: smtp.of_kind("flood"), 30), instance.security_events()
    assert smtp.of_kind("flood")[0][2]["Subject"] == "[Ringfence 127.0.0.1] Flood from 127.0.16.1: banned"
    # A flood ban is the flood's alert, not a second one of kind ban_added.
    assert not smtp.of_kind("ban_added")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps_with_a_login(instance, certs):
    sink = SmtpSink(tls=certs, auth=True).start()
    try:
        instance.set_conf("alerts", "smtp_url", f"smtps://127.0.0.1:{sink.port}")
        instance.set_conf("alerts", "mail_from", "pbx@example.org")
        instance.set_conf("alerts", "mail_to", "admin@example.org")
        instance.set_conf("alerts", "smtp_user", "alerts")
        instance.set_conf("alerts", "smtp_password", SMTP_PASSWORD)
        instance.set_conf("alerts", "ca_file", certs[0])
        instance.set_conf("alerts", "smtp_password", "wrong-" + SMTP_PASSWORD)
        p = instance.cli("alert", "test", check=False)
        assert p.returncode == 1 and "authentication failed" in p.stderr, p.stderr
        no_secret_anywhere(instance, p.stdout, p.stderr)
        instance.set_conf("alerts", "smtp_password", SMTP_PASSWORD)
        p = instance.cli("alert", "test", check=False)
        assert p.returncode == 0, p.stderr
        assert wait_until(lambda: sink.of_kind("test"), 10)
        assert len(sink.of_kind("test")) == 1
        # Not trusted without ca_file: no mail leaves. (Last: aiosmtpd
        # stops answering after a client gives up in the handshake.)
        instance.set_conf("alerts", "ca_file", "")
        p = instance.cli("alert", "test", check=False)
        assert p.returncode == 1, p.stderr
        assert "email to admin@example.org via smtps://127.0.0.1:%d: TLS failure" % sink.port in p.stderr, p.stderr
        assert len(sink.of_kind("test")) == 1
    finally:
        sink.stop()


def test_a_stop_in_the_middle_of_a_send_loses_nothing(instance, certs):
    # A receiver that takes the connection and never answers: the worker
    # is inside a send when the daemon is told to stop.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    port = mute.getsockname()[1]
    instance.set_conf("alerts", "webhook_url", f"https://127.0.0.1:{port}/hook")
    instance.set_conf("alerts", "ca_file", certs[0])
    instance.set_conf("guard", "ban_failures", "1")
    hook = None
    try:
        instance.start()
        ban_from(instance, "127.0.17.1")
        assert wait_until(lambda: events(instance, "alert_raised", kind="ban_added"), 10)
        time.sleep(1.5)  # the TLS handshake is under way and stalls
        t0 = time.monotonic()
        assert instance.stop() == 0
        assert time.monotonic() - t0 < 8, "the stop waited for the stalled send"
        assert not events(instance, "alert_sent")
        rows = queued(instance)
        assert len(rows) == 1 and rows[0][0] == "ban_added", rows
        mute.close()
        hook = WebhookSink(*certs, port=port)
        instance.start()
        assert wait_until(lambda: hook.of_kind("ban_added"), 30), instance.security_events()
        assert "127.0.17.1" in hook.of_kind("ban_added")[0]["subject"]
        assert wait_until(lambda: queued(instance) == [], 10)
    finally:
        mute.close()
        if hook:
            hook.stop()
