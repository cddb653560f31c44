"""Shared fixtures: a real Ringfence instance per test, on its own ports.

Every daemon runs the real binary (RINGFENCE_BIN, default build/ringfence)
on 127.0.0.1 with a fresh instance directory. Instance directories live in a
world-traversable base so that a daemon started as root can drop to its
unprivileged service user and still reach its files.
"""
import itertools
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RINGFENCE_BIN", os.path.join(ROOT, "build", "ringfence"))
DATA = os.path.join(ROOT, "tests", "data")

_port_seq = itertools.count(20000 + (os.getpid() % 200) * 50, 2)


def free_port():
    """An even port whose UDP/TCP port and port+1 (TLS) are all free."""
    for _ in range(500):
        p = next(_port_seq)
        ok = True
        for q, kind in ((p, socket.SOCK_DGRAM), (p, socket.SOCK_STREAM), (p + 1, socket.SOCK_STREAM)):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return p
    raise RuntimeError("no free port pair found")


def run_cli(args, conf=None, check=False, input=None, env=None, timeout=60):
    """Run `ringfence [-c conf] args...`; returns CompletedProcess (text)."""
    cmd = [BIN]
    if conf:
        cmd += ["-c", conf]
    cmd += list(args)
    e = dict(os.environ)
    e.pop("RINGFENCE_CONF", None)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, input=input,
                       env=e, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def db_rows(inst, sql, params=()):
    """Read an instance's database without creating any file in the
    instance (as root a -shm file of ours would lock the service user out)."""
    path = os.path.join(inst.dir, "ringfence.db")
    con = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def cli_fails(inst, args, status, message, **kw):
    """Run a command that must be refused: its exit status, the one-line
    error naming the command and containing `message`, nothing on stdout,
    and for a usage error the hint to its help. Returns the error line."""
    p = inst.cli(*args, check=False, **kw)
    assert p.returncode == status, (args, p.stdout, p.stderr)
    assert p.stdout == "", (args, p.stdout)
    first = p.stderr.splitlines()[0]
    assert first.startswith(f"ringfence: {args[0]} {args[1]}: "), first
    assert message in first, (args, first)
    if status == 2:
        assert f"Try 'ringfence {args[0]} {args[1]} --help'." in p.stderr
    return first


class Instance:
    """A Ringfence instance directory plus, once started, its daemon."""

    def __init__(self, base, port):
        self.dir = os.path.join(base, "inst")
        self.port = port
        self.tls_port = port + 1
        self.conf = os.path.join(self.dir, "ringfence.conf")
        self.proc = None
        self.init_out = run_cli(["init", "--dir", self.dir, "--listen", "127.0.0.1",
                                 "--port", str(port)], check=True).stdout
        self.passwords = dict(re.findall(r"^\s*(\d+)\s+(\S+)\s*$", self.init_out, re.M))

    @property
    def seclog(self):
        return os.path.join(self.dir, "security.log")

    def cli(self, *args, check=True, **kw):
        return run_cli(args, conf=self.conf, check=check, **kw)

    def set_conf(self, section, key, value):
        """Set KEY in [SECTION] of the config file (adding it if absent)."""
        with open(self.conf) as f:
            lines = f.read().splitlines()
        out, cur, done = [], None, False
        for ln in lines:
            m = re.match(r"^\s*\[(\w+)\]", ln)
            if m:
                if cur == section and not done:
                    out.append(f"{key} = {value}")
                    done = True
                cur = m.group(1)
            elif cur == section and re.match(rf"^\s*;?\s*{re.escape(key)}\s*=", ln):
                if not done:
                    out.append(f"{key} = {value}")
                    done = True
                continue
            out.append(ln)
        if not done:
            if cur != section:
                out.append(f"[{section}]")
            out.append(f"{key} = {value}")
        with open(self.conf, "w") as f:
            f.write("\n".join(out) + "\n")

    def add_ext(self, ext, *extra):
        """Add an extension with a generated password; returns the password."""
        out = self.cli("ext", "add", ext, *extra).stdout
        m = re.search(r"password:\s*(\S+)", out)
        assert m, out
        return m.group(1)

    def start(self, extra_env=None):
        env = dict(os.environ)
        if extra_env:
            env.update(extra_env)
        self.stderr_path = os.path.join(self.dir, "..", "daemon.stderr")
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", self.conf, "serve"], stdout=self._stderr,
                                     stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.daemon_output()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise AssertionError("daemon did not start listening:\n" + self.daemon_output())

    def daemon_output(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("daemon ignored SIGTERM for 10 s")
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None
            # Under `make asan` the daemon reports memory errors and leaks
            # at exit; any such report fails the test that ran it.
            out = self.daemon_output()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                assert marker not in out, f"sanitizer report from the daemon:\n{out[-4000:]}"
        return rc

    def security_events(self, event=None):
        try:
            with open(self.seclog) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        if event:
            lines = [l for l in lines if f" event={event} " in l + " "]
        return lines


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="rf-test-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def instance(workdir):
    """An initialised (not started) instance with demo extensions 1001/1002."""
    inst = Instance(workdir, free_port())
    yield inst
    inst.stop()


@pytest.fixture
def pbx(instance):
    """A running instance."""
    return instance.start()


@pytest.fixture
def tls_env(instance, workdir):
    """For trunks over TLS (trunkpeer.py): a test CA in [trunks] ca_file,
    and a DNS server that puts provider.test at 127.0.0.1."""
    from trunkpeer import DnsServer, TestCA  # the certificate library only where needed
    ca = TestCA(workdir)
    dns = DnsServer({("provider.test", "A"): [(300, "127.0.0.1")]})
    instance.set_conf("trunks", "ca_file", ca.path)
    instance.set_conf("trunks", "dns_servers", dns.addr)
    yield ca
    dns.close()
