"""nftables sync (S25) for real: the kernel drops a banned source.

Each test gets a network namespace of its own, joined to the host by a veth
pair on a /30 of TEST-NET-3 (203.0.113.0/24, RFC 5737). The daemon runs
inside the namespace, behind the ruleset `ringfence firewall print` wrote
for it, with `[firewall] nft_set = inet ringfence banned`; the attacker is
this test process on the host end of the pair. Nothing touches the host's
own firewall: every nft command runs inside the namespace, which is removed
when the test ends, whatever its outcome.

Needs root, iproute2 and nft (Debian's nftables package); CI has them. Set
RF_REQUIRE_NETNS=1 to turn the skip into a failure when a namespace cannot
be created.
"""
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from conftest import BIN, Instance, free_port
from sipua import UA, Conn, wait_until

TEST_NET = "203.0.113"          # RFC 5737 TEST-NET-3
CMD_SECS = 20                   # any single ip/nft/CLI command
START_SECS = 20                 # the daemon inside the namespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces and nftables need root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 (`ip`) is not installed"),
    pytest.mark.skipif(shutil.which("nft") is None, reason="nft (nftables) is not installed"),
]


def run(*args, input=None, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True, input=input,
                       timeout=CMD_SECS)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {p.stderr.strip()}")
    return p


class Namespace:
    """A namespace with its end of a veth pair at `inside_ip`; the host end
    is `host_ip`."""

    def __init__(self):
        tag = secrets.token_hex(4)
        self.ns = f"rfnft-{tag}"
        self.host_if = f"rfnh-{tag}"    # interface names are at most 15 bytes
        self.peer_if = f"rfnc-{tag}"
        self.host_ip, self.inside_ip = self._free_pair()
        self.created = False

    @staticmethod
    def _free_pair():
        used = run("ip", "-4", "-o", "addr", "show").stdout
        blocks = list(range(0, 256, 4))
        random.shuffle(blocks)
        for b in blocks:
            if not any(f" {TEST_NET}.{b + i}/" in used for i in range(4)):
                return f"{TEST_NET}.{b + 1}", f"{TEST_NET}.{b + 2}"
        raise RuntimeError(f"every /30 of {TEST_NET}.0/24 is in use")

    def create(self):
        run("ip", "netns", "add", self.ns)
        self.created = True
        run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if,
            "netns", self.ns)
        run("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        run("ip", "link", "set", self.host_if, "up")
        run("ip", "-n", self.ns, "addr", "add", f"{self.inside_ip}/30", "dev", self.peer_if)
        run("ip", "-n", self.ns, "link", "set", self.peer_if, "up")
        run("ip", "-n", self.ns, "link", "set", "lo", "up")
        if not wait_until(self._carrier, 5, 0.05):
            raise RuntimeError(f"veth {self.host_if} did not come up")

    def _carrier(self):
        try:
            with open(f"/sys/class/net/{self.host_if}/carrier") as f:
                return f.read().strip() == "1"
        except OSError:
            return False

    def nft(self, *args, input=None, check=True):
        return run("ip", "netns", "exec", self.ns, "nft", *args, input=input, check=check)

    def destroy(self):
        if self.created:
            run("ip", "netns", "del", self.ns, check=False)
        run("ip", "link", "del", self.host_if, check=False)
        self.created = False

    def leftovers(self):
        names = run("ip", "netns", "list", check=False).stdout
        links = run("ip", "-o", "link", "show", check=False).stdout
        return [n for n in (self.ns, self.host_if, self.peer_if) if n in names or n in links]


@pytest.fixture
def netns(request):
    ns = Namespace()
    request.addfinalizer(ns.destroy)
    try:
        ns.create()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        ns.destroy()
        if os.environ.get("RF_REQUIRE_NETNS", "") not in ("", "0"):
            pytest.fail(f"cannot create a network namespace: {e}")
        pytest.skip(f"cannot create a network namespace: {e}")
    yield ns
    ns.destroy()
    assert ns.leftovers() == [], "namespace or veth left behind"


def start_inside(inst, ns):
    """Run the daemon inside the namespace (Instance.start runs it on the
    host); it is ready when its TCP port answers through the firewall."""
    inst.stderr_path = os.path.join(inst.dir, "..", "daemon.stderr")
    inst._stderr = open(inst.stderr_path, "ab")
    inst.proc = subprocess.Popen(["ip", "netns", "exec", ns.ns, BIN, "-c", inst.conf, "serve"],
                                 stdout=inst._stderr, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_SECS
    while time.monotonic() < deadline:
        if inst.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {inst.proc.returncode}:\n"
                                 f"{inst.daemon_output()}")
        if tcp_connects(ns.inside_ip, inst.port, ns.host_ip, 0.3):
            return inst
        time.sleep(0.1)
    raise AssertionError("daemon did not start listening:\n" + inst.daemon_output())


def tcp_connects(host, port, src, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(timeout)
        s.connect((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture
def fenced(workdir, netns):
    """An instance inside the namespace with the printed ruleset loaded and
    bans mirrored into it. The host end of the pair counts as LAN, so its
    failures are plain wrong passwords."""
    inst = Instance(workdir, free_port())
    inst.set_conf("sip", "listen", netns.inside_ip)
    inst.set_conf("sip", "realm", netns.inside_ip)
    inst.set_conf("security", "lan", f"{TEST_NET}.0/24")
    inst.set_conf("firewall", "nft_set", "inet ringfence banned")
    ruleset = inst.cli("firewall", "print").stdout
    netns.nft("-c", "-f", "-", input=ruleset)
    netns.nft("-f", "-", input=ruleset)
    start_inside(inst, netns)
    yield inst
    inst.stop()


def ua(inst, ns, user, password):
    return UA(Conn("udp", ns.inside_ip, inst.port, src=ns.host_ip), user, password,
              domain=ns.inside_ip)


def set_elements(ns, name="banned"):
    """{address: timeout text} of a set inside the namespace."""
    out = ns.nft("list", "set", "inet", "ringfence", name).stdout
    return dict(re.findall(r"([0-9a-f:.]+) timeout (\S+?)(?: expires \S+?)?[,\s}]", out))


def drop_counter(ns, family="ip"):
    out = ns.nft("list", "chain", "inet", "ringfence", "input").stdout
    m = re.search(rf"{family} saddr @banned6? counter packets (\d+) bytes \d+ drop", out)
    assert m, out
    return int(m.group(1))


def seconds(text):
    """nft's "14m59s" or "1h" in seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    parts = re.findall(r"(\d+)(ms|d|h|m|s)", text)
    return sum(int(n) * units[u] for n, u in parts if u != "ms")


def ban_events(inst, addr):
    return [l for l in inst.security_events("ban_added") if f" addr={addr} " in l + " "]


def test_the_kernel_drops_a_banned_source(fenced, netns):
    inst, attacker = fenced, netns.host_ip
    assert set_elements(netns) == {}
    # Five wrong passwords: each is answered, then the source is banned.
    u = ua(inst, netns, "1001", "not-the-password-9Q")
    try:
        for i in range(5):
            _, last = u.register(password="not-the-password-9Q", timeout=3.0)
            assert last.status == 401, (i, last)
    finally:
        u.conn.close()
    assert wait_until(lambda: ban_events(inst, attacker), 5), inst.security_events()

    # The set holds the address with a timeout equal to the ban (900 s).
    elems = wait_until(lambda: set_elements(netns), 5)
    assert attacker in elems, elems
    assert 880 <= seconds(elems[attacker]) <= 900, elems

    # Its packets now meet the kernel's drop rule: the counter grows by
    # exactly what is sent, and not one of them is answered.
    before = drop_counter(netns)
    probe = ua(inst, netns, "1001", "x")
    try:
        for _ in range(3):
            probe.conn.send(probe.build())
        assert probe.conn.recv(2.0) is None, "a banned source must get no answer"
    finally:
        probe.conn.close()
    assert drop_counter(netns) == before + 3
    # Not even a TCP handshake: the daemon, which would accept the
    # connection and then say nothing, never sees the SYN.
    assert not tcp_connects(netns.inside_ip, inst.port, attacker, 2.0)
    assert drop_counter(netns) > before + 3

    # ban del lifts it in the kernel too, and the source is answered again.
    inst.cli("ban", "del", attacker)
    assert wait_until(lambda: attacker not in set_elements(netns), 5), set_elements(netns)
    assert tcp_connects(netns.inside_ip, inst.port, attacker, 3.0)
    again = ua(inst, netns, "1001", "x")
    try:
        r = again.request(timeout=3.0)
        assert r is not None and r.status == 401, r
    finally:
        again.conn.close()


def test_cli_bans_and_a_restart_bring_the_sets_in_line(fenced, netns):
    inst = fenced
    inst.cli("ban", "add", "192.0.2.77", "--for", "1h")
    inst.cli("ban", "add", "2001:db8::5", "--for", "2h")
    assert wait_until(lambda: "192.0.2.77" in set_elements(netns), 5), set_elements(netns)
    assert 3500 <= seconds(set_elements(netns)["192.0.2.77"]) <= 3600
    v6 = wait_until(lambda: set_elements(netns, "banned6"), 5)
    assert "2001:db8::5" in v6 and 7100 <= seconds(v6["2001:db8::5"]) <= 7200, v6

    # Someone empties the sets; a restart puts back exactly the bans in
    # force, and an element no ban stands behind is taken out.
    inst.stop()
    netns.nft("flush", "set", "inet", "ringfence", "banned")
    netns.nft("add", "element", "inet", "ringfence", "banned", "{ 192.0.2.99 timeout 1h }")
    start_inside(inst, netns)
    assert wait_until(lambda: set(set_elements(netns)) == {"192.0.2.77"}, 5), set_elements(netns)
    assert set(set_elements(netns, "banned6")) == {"2001:db8::5"}

    inst.cli("ban", "del", "2001:db8::5")
    assert wait_until(lambda: set_elements(netns, "banned6") == {}, 5)
    assert set(set_elements(netns)) == {"192.0.2.77"}

    # The guard turned off by a reload bans nothing, in the kernel either;
    # turned on again, its bans are back.
    inst.set_conf("guard", "enabled", "false")
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: set_elements(netns) == {}, 5), set_elements(netns)
    inst.set_conf("guard", "enabled", "true")
    inst.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: set(set_elements(netns)) == {"192.0.2.77"}, 5)


def test_without_the_sets_the_daemon_says_so_and_still_bans(workdir, netns):
    inst = Instance(workdir, free_port())
    try:
        inst.set_conf("sip", "listen", netns.inside_ip)
        inst.set_conf("sip", "realm", netns.inside_ip)
        inst.set_conf("security", "lan", f"{TEST_NET}.0/24")
        inst.set_conf("firewall", "nft_set", "inet ringfence banned")
        start_inside(inst, netns)      # no ruleset loaded: nothing filters
        hint = "load the ruleset from 'ringfence firewall print' first"
        assert wait_until(lambda: hint in inst.daemon_output(), 5), inst.daemon_output()
        inst.cli("ban", "add", netns.host_ip, "--for", "1h")
        assert wait_until(lambda: f"banned {{ {netns.host_ip} }}" in inst.daemon_output(), 5), \
            inst.daemon_output()
        probe = ua(inst, netns, "1001", "x")
        try:
            assert wait_until(lambda: probe.request(timeout=1.0) is None, 5), \
                "the ban holds in the daemon without the kernel's sets"
        finally:
            probe.conn.close()
    finally:
        inst.stop()


def test_thousands_of_stored_bans_reach_the_kernel_at_start(workdir, netns):
    """The queue and the helper's batches: a resync of 5,000 bans neither
    blocks the daemon nor loses one."""
    inst = Instance(workdir, free_port())
    try:
        inst.set_conf("sip", "listen", netns.inside_ip)
        inst.set_conf("sip", "realm", netns.inside_ip)
        inst.set_conf("firewall", "nft_set", "inet ringfence banned")
        now = int(time.time())
        rows = [(f"10.9.{i // 256}.{i % 256}", now, now + 7200, 0, "manual")
                for i in range(1, 5001)]
        with sqlite3.connect(os.path.join(inst.dir, "ringfence.db")) as db:
            db.executemany("INSERT INTO bans(addr, created, until, level, reason) "
                           "VALUES (?, ?, ?, ?, ?)", rows)
        netns.nft("-f", "-", input=inst.cli("firewall", "print").stdout)
        started = time.monotonic()
        start_inside(inst, netns)
        assert time.monotonic() - started < START_SECS
        assert wait_until(lambda: len(set_elements(netns)) == 5000, 30), len(set_elements(netns))
        elems = set_elements(netns)
        assert all(7000 <= seconds(t) <= 7200 for t in elems.values())
        # One more from the CLI: the whole set is synced again, nothing lost.
        inst.cli("ban", "add", "10.9.200.1", "--for", "1h")
        assert wait_until(lambda: "10.9.200.1" in set_elements(netns), 30)
        assert len(set_elements(netns)) == 5001
    finally:
        inst.stop()


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)


def test_only_the_helper_keeps_cap_net_admin(fenced, netns):
    daemon = fenced.proc.pid
    with open(f"/proc/{daemon}/task/{daemon}/children") as f:
        children = f.read().split()
    assert len(children) == 1, children
    helper = proc_status(children[0])
    mine = proc_status(daemon)
    uid = mine["Uid"].split()[0]
    assert uid != "0" and helper["Uid"].split() == [uid] * 4, (mine["Uid"], helper["Uid"])
    assert int(mine["CapEff"], 16) == 0 and int(mine["CapPrm"], 16) == 0
    assert int(helper["CapEff"], 16) == 1 << 12, helper["CapEff"]       # CAP_NET_ADMIN
    assert int(helper["CapPrm"], 16) == 1 << 12, helper["CapPrm"]
    assert helper["NoNewPrivs"].strip() == "1"
    # The helper holds nothing of the daemon's: stdio, its socket to the
    # daemon and libnftables' own netlink socket.
    pid = children[0]
    fds = sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))
    assert fds[:4] == [0, 1, 2, 3] and len(fds) <= 5, fds
    with open(f"/proc/{pid}/net/netlink") as f:
        netlink = {line.split()[-1] for line in f.read().splitlines()[1:]}
    for fd in fds[4:]:
        inode = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(f"/proc/{pid}/fd/{fd}"))
        assert inode and inode.group(1) in netlink, os.readlink(f"/proc/{pid}/fd/{fd}")


def ruleset_for(inst, settings):
    for (section, key), value in settings.items():
        inst.set_conf(section, key, value)
    return inst.cli("firewall", "print").stdout


def test_firewall_print_loads_in_check_mode(instance, netns):
    inst = instance
    text = inst.cli("firewall", "print").stdout
    assert text.count("table inet ringfence {") == 2, text   # created, then filled
    assert "policy drop;" in text
    for rule in (f"udp dport {inst.port} accept", f"tcp dport {inst.port} accept",
                 f"tcp dport {inst.tls_port} accept", "udp dport 20000-20999 accept",
                 "ip saddr @banned counter drop", "ip6 saddr @banned6 counter drop",
                 "ct state established,related accept", 'iif "lo" accept',
                 "ip saddr 10.0.0.0/8 tcp dport 22 accept",
                 "ip6 saddr fc00::/7 tcp dport 22 accept"):
        assert rule in text, (rule, text)
    assert not re.search(r"^\s*tcp dport 22 accept", text, re.M), "ssh only from the LAN"
    netns.nft("-c", "-f", "-", input=text)

    # Another configuration: TCP and TLS only, other ports, extra LAN
    # networks, the table and set named in [firewall] nft_set.
    text = ruleset_for(inst, {("sip", "transports"): "tcp,tls", ("sip", "port"): "5070",
                                ("sip", "tls_port"): "5071",
                                ("media", "rtp_port_min"): "30000",
                                ("media", "rtp_port_max"): "30999",
                                ("security", "lan"): "100.64.0.0/10,2001:db8:1::/48",
                              ("firewall", "nft_set"): "inet edge blocked"})
    assert "udp dport 5070" not in text and "tcp dport 5070 accept" in text
    assert "tcp dport 5071 accept" in text and "udp dport 30000-30999 accept" in text
    assert "ip saddr 100.64.0.0/10 tcp dport 22 accept" in text
    assert "ip6 saddr 2001:db8:1::/48 tcp dport 22 accept" in text
    assert "table inet edge {" in text and "set blocked6 {" in text
    assert "ip saddr @blocked counter drop" in text
    netns.nft("-c", "-f", "-", input=text)
    # Loaded for real twice: the second load keeps the sets' elements.
    netns.nft("-f", "-", input=text)
    netns.nft("add", "element", "inet", "edge", "blocked", "{ 192.0.2.1 timeout 1h }")
    netns.nft("-f", "-", input=text)
    assert "192.0.2.1" in netns.nft("list", "set", "inet", "edge", "blocked").stdout


def test_a_bad_nft_set_stops_the_daemon_with_the_line(instance):
    inst = instance
    inst.set_conf("firewall", "nft_set", "inet ringfence banned; flush ruleset")
    p = inst.cli("check-config", check=False)
    assert p.returncode == 1
    assert "bad value for 'nft_set' in [firewall]" in p.stderr, p.stderr
    p = inst.cli("firewall", "print", check=False)
    assert p.returncode == 1 and "nft_set" in p.stderr, p.stderr
