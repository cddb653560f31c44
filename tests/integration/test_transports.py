"""Registration over TCP, TLS and IPv6, and the TLS-only rule for
--remote extensions, against the real daemon."""
import socket
import ssl
import warnings

import pytest

from sipua import bindings_of, contact_uri
from sipua import mkua  # noqa: F401  (fixture)


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("transport", ["tcp", "tls"])
@pytest.mark.parametrize("alg", ["SHA-256", "MD5"])
def test_register_over_stream_transport(pbx, mkua, transport, alg):
    ua = mkua(pbx, "1001", transport)
    ch, ok = ua.register(alg=alg)
    assert ch.status == 401
    assert [p.get("algorithm") for _, p in ch.challenges()] == ["SHA-256", "MD5"]
    assert ok.status == 200, ok.raw
    row, = bindings_of(pbx, "1001")
    assert str(row["transport"]).lower() == transport
    assert row["source"] == f"127.0.0.1:{ua.conn.local_port}"
    assert contact_uri(row["contact"]) == contact_uri(ua.contact)


def test_tcp_pipelined_and_split_messages(pbx, mkua):
    """Framing by Content-Length: two requests in one segment, then one
    request split across segments, each get their own answer."""
    ua = mkua(pbx, "1001", "tcp")
    r1, r2 = ua.build(), ua.build()
    ua.conn.send(r1 + r2)
    a = ua.conn.recv(3)
    b = ua.conn.recv(3)
    assert a is not None and b is not None
    assert {a.get("cseq"), b.get("cseq")} == {"1 REGISTER", "2 REGISTER"}
    r3 = ua.build()
    for i in range(0, len(r3), 7):
        ua.conn.send(r3[i:i + 7])
    c = ua.conn.recv(3)
    assert c is not None and c.get("cseq") == "3 REGISTER" and c.status == 401


def test_tls_offers_only_modern_protocols(pbx):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # asking for old TLS on purpose
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with socket.create_connection(("127.0.0.1", pbx.tls_port), timeout=3) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with ctx.wrap_socket(raw) as s:
                s.do_handshake()
    ok = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ok.check_hostname = False
    ok.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", pbx.tls_port), timeout=3) as raw:
        with ok.wrap_socket(raw) as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")


def test_remote_extension_registers_over_tls(instance, mkua):
    pw = instance.add_ext("1006", "--remote")
    pbx = instance.start()
    ua = mkua(pbx, "1006", "tls", password=pw)
    _, ok = ua.register()
    assert ok.status == 200, ok.raw
    row, = bindings_of(pbx, "1006")
    assert str(row["transport"]).lower() == "tls"


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback")
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_register_over_ipv6(instance, mkua, transport):
    instance.set_conf("sip", "listen", "127.0.0.1, ::1")
    instance.start()
    ua = mkua(instance, "1001", transport, src="::1", host="::1")
    _, ok = ua.register()
    assert ok.status == 200, ok.raw
    row, = bindings_of(instance, "1001")
    assert row["source"] == f"[::1]:{ua.conn.local_port}"
    assert str(row["transport"]).lower() == transport
    # IPv4 still served by the same daemon.
    v4 = mkua(instance, "1002", transport)
    assert v4.register()[1].status == 200


def test_tls_certificate_is_ecdsa_p256(pbx):
    import subprocess
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", pbx.tls_port), timeout=3) as raw:
        with ctx.wrap_socket(raw) as s:
            der = s.getpeercert(binary_form=True)
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"],
                          input=der, capture_output=True, timeout=10).stdout.decode()
    assert "id-ecPublicKey" in text, text
    assert "prime256v1" in text or "P-256" in text, text
