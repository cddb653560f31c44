"""Every RFC 4475 torture message sent to the running daemon as one UDP
datagram from 127.0.0.1 gets the final status that
tests/data/rfc4475/verdicts.tsv names (or no answer at all), the answer
comes back to the datagram's source address and port, and the daemon
survives every one of them."""
import os
import shutil
import socket
import tempfile
import time

import pytest

from conftest import DATA, Instance, free_port

CORPUS = os.path.join(DATA, "rfc4475")
VERDICTS = os.path.join(CORPUS, "verdicts.tsv")


def load_verdicts():
    rows = []
    if not os.path.exists(VERDICTS):
        return rows
    with open(VERDICTS) as f:
        for ln in f:
            if ln.startswith("#") or not ln.strip():
                continue
            cols = ln.rstrip("\n").split("\t")
            if cols[0] == "file":
                continue
            rows.append((cols[0], cols[2]))
    return rows


VERDICT_ROWS = load_verdicts()


@pytest.fixture(scope="module")
def torture_pbx():
    base = tempfile.mkdtemp(prefix="rf-4475-")
    os.chmod(base, 0o755)
    inst = Instance(base, free_port())
    inst.start()
    yield inst
    inst.stop()
    shutil.rmtree(base, ignore_errors=True)


def final_answer(sock, timeout):
    """The status of the first final response within timeout, skipping
    provisional ones; (None, None) when nothing final arrives."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, None
        sock.settimeout(left)
        try:
            data, addr = sock.recvfrom(70000)
        except socket.timeout:
            return None, None
        first = data.split(b"\r\n", 1)[0]
        assert first.startswith(b"SIP/2.0 "), f"not a response: {data[:200]!r}"
        status = int(first.split()[1])
        if status >= 200:
            return status, data


def test_verdicts_cover_the_corpus():
    dats = sorted(f for f in os.listdir(CORPUS) if f.endswith(".dat"))
    assert len(dats) == 50
    assert sorted(f for f, _ in VERDICT_ROWS) == dats


@pytest.mark.parametrize("name,answer", VERDICT_ROWS, ids=[r[0] for r in VERDICT_ROWS])
def test_rfc4475_message_over_udp(torture_pbx, name, answer):
    with open(os.path.join(CORPUS, name), "rb") as f:
        msg = f.read()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(msg, ("127.0.0.1", torture_pbx.port))
        if answer == "none":
            status, data = final_answer(s, 0.5)
            assert status is None, f"{name}: expected no answer, got {data[:300]!r}"
        else:
            status, data = final_answer(s, 2.0)
            assert status == int(answer), f"{name}: expected {answer}, got {status}: {data and data[:300]!r}"
            assert b"\r\nServer:" not in data and b"\r\nUser-Agent:" not in data
    assert torture_pbx.proc.poll() is None, f"daemon died on {name}:\n{torture_pbx.daemon_output()[-2000:]}"


def test_daemon_alive_and_serving_after_the_corpus(torture_pbx):
    # Send the whole corpus back to back, then a plain REGISTER must still
    # be challenged: nothing in the corpus wedged the loop.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        for name, _ in VERDICT_ROWS:
            with open(os.path.join(CORPUS, name), "rb") as f:
                s.sendto(f.read(), ("127.0.0.1", torture_pbx.port))
    from sipua import Conn, UA
    with Conn("udp", "127.0.0.1", torture_pbx.port) as c:
        r = UA(c, "1001", torture_pbx.passwords["1001"]).request()
        assert r is not None and r.status == 401
    assert torture_pbx.proc.poll() is None
