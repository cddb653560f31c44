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
