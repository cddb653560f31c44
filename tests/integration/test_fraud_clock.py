"""The fraud clock's test-only offset: `serve` says so loudly when it is
set, and refuses a value that is not a whole number of seconds."""
import time

WARNING = "RINGFENCE_CLOCK_OFFSET=-39600: the fraud clock runs -39600 seconds from real time"


def test_serve_warns_when_the_clock_is_moved(instance):
    instance.set_conf("general", "log_level", "error")
    instance.start(extra_env={"RINGFENCE_CLOCK_OFFSET": "-39600"})
    out = instance.daemon_output()
    line = [l for l in out.splitlines() if "RINGFENCE_CLOCK_OFFSET" in l]
    assert len(line) == 1, out
    assert " warn: " in line[0] and WARNING in line[0], line[0]
    assert "for tests only, never set it in production" in line[0]


def test_serve_says_nothing_without_it(instance):
    instance.start(extra_env={"RINGFENCE_CLOCK_OFFSET": ""})
    time.sleep(0.2)
    assert "RINGFENCE_CLOCK_OFFSET" not in instance.daemon_output()


def test_serve_refuses_a_bad_offset(instance):
    p = instance.cli("serve", check=False, env={"RINGFENCE_CLOCK_OFFSET": "3h"}, timeout=20)
    assert p.returncode != 0
    assert "RINGFENCE_CLOCK_OFFSET='3h' is not a whole number of seconds" in p.stderr + p.stdout
