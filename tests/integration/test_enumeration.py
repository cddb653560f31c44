"""Anti-enumeration (S6), proven on real responses: an unknown user, a wrong
password and a source the extension's access list denies are answered
identically on the wire, before and after a failed digest, while the
security log still tells them apart.

Every request is built with echoed values of identical length (4-digit
users, 127.0.0.N sources, fixed-length Call-ID, tags and branches), so the
byte lengths of the answers must match exactly."""
import re

import pytest

from sipua import bindings_of, five_digit_port, wait_for_event
from sipua import mkua  # noqa: F401  (fixture)

ECHOED = {"via", "from", "to", "call-id", "cseq"}


def masked_challenge(value):
    """A WWW-Authenticate value with the nonce value masked."""
    return re.sub(r'nonce="[^"]*"', 'nonce="<N>"', value)


def shape(resp):
    """Everything that must be identical between the three cases."""
    names = [n for n, _ in resp.headers]
    fixed = [(n, masked_challenge(v) if n.lower() == "www-authenticate" else v)
             for n, v in resp.headers if n.lower() not in ECHOED]
    return {
        "status_line": resp.raw.split(b"\r\n", 1)[0],
        "names": names,
        "fixed": fixed,
        "body": resp.body,
    }


def echoed_lengths(resp):
    return [(n, len(v)) for n, v in resp.headers if n.lower() in ECHOED]


def run_case(ua, password):
    """First challenge, then the answer to a digest with `password`."""
    first = ua.request(expires=3600)
    assert first is not None and first.status == 401, first
    second = ua.request(expires=3600, auth=ua.auth_for(first, ua.alg, password=password))
    assert second is not None, "no answer to the failed digest"
    return first, second


@pytest.mark.parametrize("alg", ["SHA-256", "MD5"])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_unknown_wrong_and_denied_look_the_same(instance, mkua, alg, transport):
    pw5 = instance.add_ext("1005", "--permit", "127.0.0.5/32")
    pbx = instance.start()
    def ua(ext, src, **kw):
        return mkua(pbx, ext, transport, src=src, src_port=five_digit_port(src, transport), **kw)

    cases = {
        # unknown extension (same length as the real ones)
        "unknown_user": (ua("1009", "127.0.0.7", password="Guess-Passw0rd!x"), None),
        # real extension, wrong password
        "wrong_password": (ua("1001", "127.0.0.8"), "Wrong-Passw0rd!x"),
        # real extension, right password, source outside its access list
        "acl_denied": (ua("1005", "127.0.0.6", password=pw5), pw5),
    }
    answers = {}
    for name, (ua, password) in cases.items():
        ua.alg = alg
        answers[name] = run_case(ua, password if password is not None else ua.password)

    for phase in (0, 1):
        resps = {name: a[phase] for name, a in answers.items()}
        ref_name, ref = "wrong_password", resps["wrong_password"]
        assert ref.status == 401, ref.raw
        assert len(ref.get_all("www-authenticate")) == 2, ref.raw
        for name, r in resps.items():
            ctx = f"phase {phase}: {name} vs {ref_name}\n{r.raw.decode()}\n---\n{ref.raw.decode()}"
            assert shape(r) == shape(ref), ctx
            assert echoed_lengths(r) == echoed_lengths(ref), ctx
            assert len(r.raw) == len(ref.raw), ctx
            # Each answer carries a nonce of its own kind: 40 characters.
            for _, p in r.challenges():
                assert len(p["nonce"]) == 40, ctx

    # Nothing was registered, and the log still tells the cases apart.
    for ext in ("1001", "1005", "1009"):
        assert bindings_of(pbx, ext) == []
    assert wait_for_event(pbx, "auth_failed", "reason=unknown_user"), pbx.security_events()
    unk = [l for l in pbx.security_events("auth_failed") if "reason=unknown_user" in l]
    assert any("src=127.0.0.7:" in l for l in unk), unk
    wrong = [l for l in pbx.security_events("auth_failed") if "reason=wrong_password" in l]
    assert any("src=127.0.0.8:" in l for l in wrong), pbx.security_events()
    denied = wait_for_event(pbx, "acl_denied", "src=127.0.0.6:")
    assert denied, pbx.security_events()
    # The access-list denial is not logged as a password failure of 1005:
    # the password was right.
    assert not any("src=127.0.0.6:" in l and "reason=wrong_password" in l
                   for l in pbx.security_events("auth_failed")), pbx.security_events()


def test_unknown_user_challenge_matches_known_user_without_credentials(pbx, mkua):
    """The very first answer, before any digest, gives nothing away."""
    known = mkua(pbx, "1002", src="127.0.0.11", src_port=five_digit_port("127.0.0.11"))
    unknown = mkua(pbx, "9999", src="127.0.0.12", password="x",
                   src_port=five_digit_port("127.0.0.12"))
    a = known.request()
    b = unknown.request()
    assert a.status == b.status == 401
    assert shape(a) == shape(b), f"{a.raw!r}\n{b.raw!r}"
    assert len(a.raw) == len(b.raw)


def method_request(method, user, src, port, auth=None):
    """One out-of-dialog request for `user`, echoed values of fixed length."""
    from sipua import new_branch, new_tag
    import secrets
    ruri = f"sip:{user}@127.0.0.1:{port}"
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP {src}:45678;branch={new_branch()};rport",
             "Max-Forwards: 70",
             f"From: <sip:{user}@127.0.0.1>;tag={new_tag()}",
             f"To: <sip:{user}@127.0.0.1>",
             f"Call-ID: {secrets.token_hex(12)}@ringfence.test",
             f"CSeq: 1 {method}",
             f"Contact: <sip:{user}@{src}:45678>"]
    if method in ("SUBSCRIBE", "PUBLISH", "NOTIFY"):
        lines.append("Event: presence")
    if method == "REFER":
        lines.append(f"Refer-To: <sip:1002@127.0.0.1:{port}>")
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), ruri


def exchange_from(src, data, port):
    import socket
    from sipua import Response
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 45678))
        s.settimeout(2.0)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return Response(s.recvfrom(70000)[0])
        except socket.timeout:
            return None


def proxy_shape(resp):
    """As shape(), for a 407 with Proxy-Authenticate."""
    fixed = [(n, masked_challenge(v) if n.lower() == "proxy-authenticate" else v)
             for n, v in resp.headers if n.lower() not in ECHOED]
    return (resp.raw.split(b"\r\n", 1)[0], [n for n, _ in resp.headers], fixed, resp.body)


@pytest.mark.parametrize("method", ["INVITE", "MESSAGE", "SUBSCRIBE", "REFER", "INFO",
                                    "UPDATE", "BYE", "PUBLISH", "NOTIFY"])
def test_every_method_answers_unknown_wrong_and_denied_alike(instance, method):
    from sipua import authorization, parse_challenge
    pw5 = instance.add_ext("1005", "--permit", "127.0.0.5/32")
    pbx = instance.start()
    # One address per case and method, so no guard threshold is reached.
    n = ["INVITE", "MESSAGE", "SUBSCRIBE", "REFER", "INFO", "UPDATE", "BYE", "PUBLISH",
         "NOTIFY"].index(method) + 1
    cases = {"unknown_user": ("1009", f"127.0.{n}.7", "Guess-Passw0rd!x"),
             "wrong_password": ("1001", f"127.0.{n}.8", "Wrong-Passw0rd!x"),
             "acl_denied": ("1005", f"127.0.{n}.6", pw5)}
    answers = {}
    for name, (user, src, password) in cases.items():
        data, ruri = method_request(method, user, src, pbx.port)
        first = exchange_from(src, data, pbx.port)
        assert first is not None and first.status == 407, (name, first and first.raw)
        # The first challenge offered (SHA-256 unless configured otherwise).
        _, ch = parse_challenge(first.get("proxy-authenticate"))
        auth = authorization(ch.get("algorithm", "MD5"), user, ch["realm"], password, method,
                             ruri, ch["nonce"], cnonce="0a4f113b")
        data, _ = method_request(method, user, src, pbx.port, auth=auth)
        second = exchange_from(src, data, pbx.port)
        assert second is not None and second.status == 407, (name, second and second.raw)
        answers[name] = (first, second)
    for phase in (0, 1):
        ref = answers["wrong_password"][phase]
        for name, pair in answers.items():
            r = pair[phase]
            ctx = f"{method} phase {phase}: {name}\n{r.raw.decode()}\n---\n{ref.raw.decode()}"
            assert proxy_shape(r) == proxy_shape(ref), ctx
            assert echoed_lengths(r) == echoed_lengths(ref), ctx
            assert len(r.raw) == len(ref.raw), ctx
    # The digests were checked, and the log tells the three apart.
    log = pbx.security_events()
    for reason, src in (("unknown_user", f"127.0.{n}.7"), ("wrong_password", f"127.0.{n}.8")):
        assert any(f"src={src}:" in l and f"method={method}" in l and f"reason={reason}" in l
                   for l in log), (reason, log)
    assert any(f"src=127.0.{n}.6:" in l and "event=acl_denied" in l and "credentials=valid" in l
               for l in log), log
