"""REGISTER attempts from inside a network namespace, for
test_remote_access.py.

The test runs this script with `ip netns exec NS python3 sipclient.py`, so
its packets leave from the namespace's own address, which is outside the
LAN as the daemon sees it. It reads one JSON request line on stdin:

    {"server": "198.51.100.1", "port": 5060, "tls_port": 5061,
     "src": "198.51.100.2", "domain": "127.0.0.1",
     "attempts": [{"ext": "1001", "password": "...", "transport": "udp",
                   "alg": "SHA-256"}, ...]}

For each attempt it sends a REGISTER without credentials, answers the
challenge with the given password and writes one JSON line with, per
attempt, the local port and the raw bytes (base64) of both answers. It then
keeps its connections open until stdin closes (at most HOLD_SECS), so the
test can inspect registrations made over TCP or TLS while the connection
still exists.
"""
import base64
import json
import os
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sipua import UA, Conn, five_digit_port  # noqa: E402

HOLD_SECS = 60
ANSWER_SECS = 3.0


def b64(resp):
    return None if resp is None else base64.b64encode(resp.raw).decode()


def attempt(req, a, conns):
    out = {"ext": a["ext"], "transport": a["transport"], "local_port": None,
           "first": None, "second": None, "error": None}
    try:
        tp = a["transport"]
        port = req["tls_port"] if tp == "tls" else req["port"]
        # Five-digit source ports keep echoed Via values the same length
        # across attempts, so answers can be compared byte count for byte count.
        conn = Conn(tp, req["server"], port, src=req["src"],
                    src_port=five_digit_port(req["src"], tp))
        conns.append(conn)
        out["local_port"] = conn.local_port
        ua = UA(conn, a["ext"], a["password"], domain=req["domain"])
        first = ua.request(timeout=ANSWER_SECS)
        out["first"] = b64(first)
        if first is not None and first.status == 401:
            auth = ua.auth_for(first, a.get("alg", "SHA-256"))
            out["second"] = b64(ua.request(timeout=ANSWER_SECS, auth=auth))
    except Exception as e:  # reported to the test, which fails with it
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def hold_until_stdin_closes():
    deadline = time.monotonic() + HOLD_SECS
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], max(deadline - time.monotonic(), 0))
        if r and not sys.stdin.readline():
            return


def main():
    line = sys.stdin.readline()
    if not line:
        return 2
    req = json.loads(line)
    conns = []
    try:
        results = [attempt(req, a, conns) for a in req["attempts"]]
        sys.stdout.write(json.dumps({"results": results}) + "\n")
        sys.stdout.flush()
        hold_until_stdin_closes()
    finally:
        for c in conns:
            c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
