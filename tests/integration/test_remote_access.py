"""LAN only by default, --remote only over TLS (S3), proven against the real
daemon from a source that is not on the LAN.

Loopback and the private ranges all count as LAN, so a client on this host
cannot stand outside it. Each test therefore gets a network namespace of
its own joined to the host by a veth pair addressed from the documentation
range 198.51.100.0/24 (RFC 5737): the daemon also listens on the host end,
and a small client (netns/sipclient.py) registers from the namespace end.
Nothing is routed beyond the pair. The namespace and the veth are removed
when the test ends, whatever its outcome.

A refused source must learn nothing (S6): its answers are compared with
those to a wrong password from a LAN address of the same length
(127.51.100.N for 198.51.100.N), status line, headers and byte count.

Needs root and iproute2; CI has both. Set RF_REQUIRE_NETNS=1 to turn the
skip into a failure when a namespace cannot be created.
"""
import base64
import json
import os
import random
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time

import pytest

from sipua import Response, bindings_of, five_digit_port, wait_for_event, wait_until
from sipua import mkua  # noqa: F401  (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "netns", "sipclient.py")
DOC_NET = "198.51.100"          # RFC 5737 TEST-NET-2
CMD_SECS = 10                   # any single `ip` command
CLIENT_SECS = 40                # a whole client run inside the namespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 (`ip`) is not installed"),
]


# ------------------------------------------------------------ namespace

def ip(*args, check=True):
    p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=CMD_SECS)
    if check and p.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p


class OutsideHost:
    """A namespace standing outside the LAN, joined to the host by a veth
    pair on a /30 of TEST-NET-2: host end `server_ip`, namespace end
    `client_ip`."""

    def __init__(self):
        tag = secrets.token_hex(4)
        self.ns = f"rfns-{tag}"
        self.host_if = f"rfh-{tag}"     # interface names are at most 15 bytes
        self.peer_if = f"rfc-{tag}"
        self.server_ip, self.client_ip = self._free_pair()
        self.created = False

    @staticmethod
    def _free_pair():
        """A /30 not already used on this host, so that runs side by side
        do not collide."""
        used = ip("-4", "-o", "addr", "show").stdout
        blocks = list(range(0, 256, 4))
        random.shuffle(blocks)
        for b in blocks:
            if not any(f" {DOC_NET}.{b + i}/" in used for i in range(4)):
                return f"{DOC_NET}.{b + 1}", f"{DOC_NET}.{b + 2}"
        raise RuntimeError(f"every /30 of {DOC_NET}.0/24 is in use")

    def create(self):
        ip("netns", "add", self.ns)
        self.created = True
        ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if,
           "netns", self.ns)
        ip("addr", "add", f"{self.server_ip}/30", "dev", self.host_if)
        ip("link", "set", self.host_if, "up")
        ip("-n", self.ns, "addr", "add", f"{self.client_ip}/30", "dev", self.peer_if)
        ip("-n", self.ns, "link", "set", self.peer_if, "up")
        ip("-n", self.ns, "link", "set", "lo", "up")
        deadline = time.monotonic() + 5
        while not self._carrier():
            if time.monotonic() >= deadline:
                raise RuntimeError(f"veth {self.host_if} did not come up")
            time.sleep(0.05)

    def _carrier(self):
        try:
            with open(f"/sys/class/net/{self.host_if}/carrier") as f:
                return f.read().strip() == "1"
        except OSError:
            return False

    def destroy(self):
        """Remove the namespace (which takes the veth pair with it) and the
        host end in case the pair outlived it; safe to call twice."""
        if self.created:
            ip("netns", "del", self.ns, check=False)
        ip("link", "del", self.host_if, check=False)
        self.created = False

    def leftovers(self):
        names = ip("netns", "list", check=False).stdout
        links = ip("-o", "link", "show", check=False).stdout
        return [n for n in (self.ns, self.host_if, self.peer_if) if n in names or n in links]


@pytest.fixture
def outside(request):
    host = OutsideHost()
    request.addfinalizer(host.destroy)
    try:
        host.create()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        host.destroy()
        if os.environ.get("RF_REQUIRE_NETNS", "") not in ("", "0"):
            pytest.fail(f"cannot create a network namespace: {e}")
        pytest.skip(f"cannot create a network namespace: {e}")
    yield host
    host.destroy()
    assert host.leftovers() == [], "namespace or veth left behind"


# ------------------------------------------------------------ the client

class ClientRun:
    """One run of netns/sipclient.py inside the namespace. Its connections
    stay open until close(), so TCP/TLS registrations can be inspected."""

    def __init__(self, host, inst, attempts):
        req = {"server": host.server_ip, "port": inst.port, "tls_port": inst.tls_port,
               "src": host.client_ip, "domain": realm_of(inst), "attempts": attempts}
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", host.ns, sys.executable, CLIENT],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            self.results = self._read_results()
        except BaseException:
            self.close()
            raise

    def _read_results(self):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout=CLIENT_SECS):
                raise AssertionError(f"namespace client gave no answer in {CLIENT_SECS} s")
        finally:
            sel.close()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=CMD_SECS)
            raise AssertionError(f"namespace client failed ({self.proc.returncode}):\n"
                                 f"{self.proc.stderr.read()}")
        results = json.loads(line)["results"]
        for r in results:
            assert r["error"] is None, f"client error in {r['ext']}/{r['transport']}: {r['error']}"
            for k in ("first", "second"):
                r[k] = Response(base64.b64decode(r[k])) if r[k] else None
        return results

    def close(self):
        p = self.proc
        if p.poll() is None:
            try:
                p.stdin.close()
            except OSError:
                pass
            try:
                p.wait(timeout=CMD_SECS)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait(timeout=CMD_SECS)
        for f in (p.stdout, p.stderr):
            f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def from_outside(host, inst, attempts):
    """Run the attempts from the namespace and return their results."""
    with ClientRun(host, inst, attempts) as run:
        return run.results


def realm_of(inst):
    with open(inst.conf) as f:
        m = re.search(r"(?m)^\s*realm\s*=\s*(\S+)", f.read())
    assert m, "the instance configuration names no realm"
    return m.group(1)


def serve_outside(instance, host, *ext_args):
    """Start the daemon listening on loopback and on the host end of the
    veth pair, after adding the extensions given as argument lists."""
    instance.set_conf("sip", "listen", f"127.0.0.1, {host.server_ip}")
    pws = {args[0]: instance.add_ext(*args) for args in ext_args}
    instance.start()
    return pws


# ------------------------------------------------------------ comparisons

ECHOED = {"via", "from", "to", "call-id", "cseq"}


def shape(resp):
    """What must be identical between a refusal and a wrong password: the
    status line, every header name in order, every value that is not echoed
    from the request (nonce masked) and the body."""
    fixed = [(n, re.sub(r'nonce="[^"]*"', 'nonce="<N>"', v))
             for n, v in resp.headers if n.lower() not in ECHOED]
    return (resp.raw.split(b"\r\n", 1)[0], [n for n, _ in resp.headers], fixed, resp.body)


def assert_same_refusal(denied, wrong):
    """A refused attempt got the same 401 as a wrong password, both on the
    first request and after the digest."""
    for phase in ("first", "second"):
        d, w = denied[phase], wrong[phase]
        assert d is not None and w is not None, f"no {phase} answer"
        ctx = f"{phase}:\n{d.raw.decode()}\n--- wrong password:\n{w.raw.decode()}"
        assert w.status == 401, ctx
        assert shape(d) == shape(w), ctx
        assert len(d.raw) == len(w.raw), ctx
        assert [len(p["nonce"]) for _, p in d.challenges()] == \
               [len(p["nonce"]) for _, p in w.challenges()], ctx


def src_of(host, result):
    return f"src={host.client_ip}:{result['local_port']} "


def events_from(inst, host, result, event):
    return [l for l in inst.security_events(event) if src_of(host, result) in l + " "]


def assert_denied_as(inst, host, result, reason):
    ext, proto = result["ext"], result["transport"]
    lines = wait_for_event(inst, "acl_denied", src_of(host, result))
    assert lines, inst.security_events()
    for line in lines:  # a UDP retransmission may be logged again
        assert f" proto={proto} " in line and f' ext="{ext}" ' in line, line
        assert f" reason={reason} " in line + " ", line
    # The password was right: it must not be counted as a password failure.
    assert events_from(inst, host, result, "auth_failed") == [], inst.security_events()


def assert_refusal_logged(inst, host, result):
    """The wrong password was logged as a refusal. Which event names it is
    the daemon's order of checks (the source is judged before the password
    verdict), so either is accepted here."""
    lines = wait_until(lambda: events_from(inst, host, result, "acl_denied")
                       + events_from(inst, host, result, "auth_failed"), 2.0)
    assert lines, inst.security_events()
    assert not events_from(inst, host, result, "register_ok"), inst.security_events()


def lan_twin(host):
    """A loopback address as long as the namespace's address (198.51.100.N
    becomes 127.51.100.N), so that echoed Via values have the same length."""
    return "127." + host.client_ip.split(".", 1)[1]


def wrong_password_on_lan(inst, mkua, host, ext, transport):
    """The reference answer: a wrong password for ext from a LAN source,
    which the daemon refuses as a password failure (not an access one)."""
    src = lan_twin(host)
    ua = mkua(inst, ext, transport, src=src, src_port=five_digit_port(src, transport),
              password="X" * 16, domain=realm_of(inst))
    first = ua.request()
    assert first is not None and first.status == 401, first
    second = ua.request(auth=ua.auth_for(first, "SHA-256"))
    assert second is not None, "no answer to the wrong password"
    needle = f"src={src}:{ua.conn.local_port} "
    lines = wait_for_event(inst, "auth_failed", needle)
    assert lines and all("reason=wrong_password" in l for l in lines), inst.security_events()
    return {"first": first, "second": second}


def pair(ext, password, transport):
    """The right password, then a wrong one of the same length, for ext."""
    wrong = ("X" if password[0] != "X" else "Y") + password[1:]
    return [{"ext": ext, "password": password, "transport": transport},
            {"ext": ext, "password": wrong, "transport": transport}]


# ------------------------------------------------------------ tests

@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_lan_only_extension_refused_from_outside_the_lan(outside, instance, mkua, transport):
    serve_outside(instance, outside)
    pw = instance.passwords["1001"]
    right, wrong = from_outside(outside, instance, pair("1001", pw, transport))
    reference = wrong_password_on_lan(instance, mkua, outside, "1001", transport)

    assert_same_refusal(right, reference)
    assert_same_refusal(wrong, reference)
    assert_denied_as(instance, outside, right, "not_lan")
    assert_refusal_logged(instance, outside, wrong)
    assert bindings_of(instance, "1001") == []


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_remote_extension_refused_outside_the_lan_without_tls(outside, instance, mkua, transport):
    pws = serve_outside(instance, outside, ["1006", "--remote"])
    right, wrong = from_outside(outside, instance, pair("1006", pws["1006"], transport))
    reference = wrong_password_on_lan(instance, mkua, outside, "1006", transport)

    assert_same_refusal(right, reference)
    assert_same_refusal(wrong, reference)
    assert_denied_as(instance, outside, right, "remote_needs_tls")
    assert_refusal_logged(instance, outside, wrong)
    assert bindings_of(instance, "1006") == []


def test_remote_extension_registers_over_tls_from_outside_the_lan(outside, instance):
    pws = serve_outside(instance, outside, ["1006", "--remote"])
    attempt = {"ext": "1006", "password": pws["1006"], "transport": "tls"}
    with ClientRun(outside, instance, [attempt]) as run:
        res, = run.results
        assert res["first"].status == 401, res["first"].raw
        assert res["second"].status == 200, res["second"].raw
        row, = bindings_of(instance, "1006", n=1)
        assert str(row["transport"]).lower() == "tls", row["raw"]
        assert row["source"] == f"{outside.client_ip}:{res['local_port']}", row["raw"]
    ok = wait_for_event(instance, "register_ok", src_of(outside, res))
    assert ok and all(" proto=tls " in l for l in ok), instance.security_events()
    assert instance.security_events("acl_denied") == []


def test_security_lan_admits_the_range_on_reload(outside, instance):
    serve_outside(instance, outside)
    pw = instance.passwords["1001"]
    udp = [{"ext": "1001", "password": pw, "transport": "udp"}]

    before, = from_outside(outside, instance, udp)
    assert before["second"].status == 401, before["second"].raw
    assert_denied_as(instance, outside, before, "not_lan")

    instance.set_conf("security", "lan", f"{DOC_NET}.0/24")
    out = instance.cli("check-config").stdout
    assert re.search(rf"(?m)^\s*lan\s*=\s*{re.escape(DOC_NET)}\.0/24\s*$", out), out
    instance.proc.send_signal(signal.SIGHUP)
    assert wait_for_event(instance, "config_changed", timeout=5), instance.security_events()

    after, = from_outside(outside, instance, udp)
    assert after["second"].status == 200, after["second"].raw
    row, = bindings_of(instance, "1001", n=1)
    assert row["source"] == f"{outside.client_ip}:{after['local_port']}", row["raw"]
    assert str(row["transport"]).lower() == "udp", row["raw"]
    assert events_from(instance, outside, after, "acl_denied") == []

    # A bad range is refused by check-config, and a reload with it keeps
    # the running configuration: the range is still the LAN.
    instance.set_conf("security", "lan", f"{DOC_NET}.1/24")
    bad = instance.cli("check-config", check=False)
    assert bad.returncode != 0, bad.stdout
    assert re.search(rf"{re.escape(instance.conf)}:\d+: bad value for 'lan' in \[security\]: "
                     rf"'{re.escape(DOC_NET)}\.1/24' is not a valid CIDR", bad.stderr), bad.stderr
    changes = len(instance.security_events("config_changed"))
    instance.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while "configuration not reloaded" not in instance.daemon_output():
        assert time.monotonic() < deadline, instance.daemon_output()
        time.sleep(0.05)
    assert len(instance.security_events("config_changed")) == changes
    again, = from_outside(outside, instance, udp)
    assert again["second"].status == 200, again["second"].raw


def test_security_lan_from_the_start(outside, instance):
    instance.set_conf("security", "lan", f"{DOC_NET}.0/24")
    serve_outside(instance, outside)
    res, = from_outside(outside, instance, [
        {"ext": "1002", "password": instance.passwords["1002"], "transport": "udp"}])
    assert res["second"].status == 200, res["second"].raw
    row, = bindings_of(instance, "1002", n=1)
    assert row["source"] == f"{outside.client_ip}:{res['local_port']}", row["raw"]


@pytest.mark.parametrize("value, why", [
    (f"{DOC_NET}.1/24", f"host bits set beyond /24: did you mean {DOC_NET}.0/24?"),
    (f"{DOC_NET}.0/33", "prefix length 33 out of range for IPv4"),
    ("not-a-cidr", "not an IP address"),
])
def test_security_lan_rejects_a_bad_cidr(instance, value, why):
    instance.set_conf("security", "lan", value)
    p = instance.cli("check-config", check=False)
    assert p.returncode != 0, p.stdout
    line = next(i for i, l in enumerate(open(instance.conf), 1) if l.startswith("lan ="))
    assert (f"{instance.conf}:{line}: bad value for 'lan' in [security]: "
            f"'{value}' is not a valid CIDR: {why}") in p.stderr, p.stderr
