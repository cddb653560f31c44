"""The administrator's mailbox for the alert tests: aiosmtpd on a loopback
port, keeping every message it is given (docs/alerts.md).

Plain SMTP by default (STARTTLS is only required off loopback), SMTPS with
`tls` (cert, key); with `auth`, a login as `alerts` / SMTP_PASSWORD is
required."""
import email
import email.policy
import ssl
import threading

from aiosmtpd.controller import Controller

from conftest import free_port

SMTP_PASSWORD = "sm7p-Pa55-do-not-print"


class _Collect:
    def __init__(self):
        self.mails = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), msg,
                               envelope.content))
        return "250 OK"


def _auth_callback(mechanism, login, password):
    # aiosmtpd 1.4's newer `authenticator` hook hangs the session when it
    # refuses; the older callback answers 535 as a server should.
    return login == b"alerts" and password == SMTP_PASSWORD.encode()


class SmtpSink:
    """`mails` holds (envelope sender, recipients, parsed message, raw
    bytes) for each message, in the order they came."""

    def __init__(self, port=None, tls=None, auth=False):
        self.port = port or free_port()
        self.handler = _Collect()
        self.ctl = None
        self.tls = tls
        self.auth = auth

    def start(self):
        kw = {}
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.tls)
            kw["ssl_context"] = ctx
        if self.auth:
            # The session is TLS from its first byte, which aiosmtpd does
            # not count as STARTTLS: let it offer AUTH anyway.
            kw.update(auth_callback=_auth_callback, auth_required=True,
                      auth_require_tls=False)
        self.ctl = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kw)
        self.ctl.start()
        return self

    def stop(self):
        if self.ctl:
            self.ctl.stop()
            self.ctl = None

    @property
    def mails(self):
        with self.handler.lock:
            return list(self.handler.mails)

    @property
    def messages(self):
        """The parsed messages alone."""
        return [m[2] for m in self.mails]

    def of_kind(self, kind):
        return [m for m in self.mails if m[2]["X-Ringfence-Alert"] == kind]
