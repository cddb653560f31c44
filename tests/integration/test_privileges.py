"""The daemon drops root before it reads a packet (run nothing as root)."""
import os
import pwd

import pytest


def proc_ids(pid):
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("Uid:", "Gid:")):
                k, real, eff, saved, fs = line.split()
                ids[k[:-1]] = {int(real), int(eff), int(saved), int(fs)}
    return ids


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop applies when started as root")
def test_daemon_runs_as_the_service_user(pbx):
    svc = pwd.getpwnam("ringfence")
    ids = proc_ids(pbx.proc.pid)
    assert ids["Uid"] == {svc.pw_uid}, ids
    assert ids["Gid"] == {svc.pw_gid}, ids
    with open(f"/proc/{pbx.proc.pid}/status") as f:
        groups = [l for l in f if l.startswith("Groups:")][0].split()[1:]
    assert "0" not in groups


@pytest.mark.skipif(os.geteuid() != 0, reason="init creates the service user only as root")
def test_instance_files_belong_to_the_service_user(instance):
    svc = pwd.getpwnam("ringfence")
    for name in ("ringfence.conf", "ringfence.db", "secret.key", "tls/key.pem"):
        st = os.stat(os.path.join(instance.dir, name))
        assert st.st_uid == svc.pw_uid, name
        assert st.st_mode & 0o007 == 0, f"{name} is readable by others: {oct(st.st_mode)}"
    assert os.stat(os.path.join(instance.dir, "secret.key")).st_mode & 0o077 == 0


def test_unknown_service_user_stops_the_daemon(instance):
    if os.geteuid() != 0:
        pytest.skip("only root switches users")
    instance.set_conf("general", "user", "no-such-user-rf")
    with pytest.raises(AssertionError) as e:
        instance.start()
    assert "no-such-user-rf" in str(e.value)
