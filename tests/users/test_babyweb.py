"""babyweb (the web framework under cantools' ``ct``, on dez and rel), as its
users run it: an app directory with its routes (app.yaml), handlers and cron
schedule (cron.yaml), served on 127.0.0.1 (programs/babyweb_app/serve.py).

Its cron (babyweb/cron.py) arms each rule with ``rel.timeout(None, trigger)``
and ``timer.add(seconds)``, and at a restart fast-forwards a rule that ran
before by the time since its last run, read from the timestamp file cron.ts:
``timer.expiration -= ff`` (a timer with no ``expiration`` crashed it at
start). So: a first run that serves a page and runs a rule (cron.ts written),
a stop, and a restart whose cron.ts says the rule last ran long ago: the rule
fires at the moved time, long before its period is up.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path

from users_support import assert_clean_exit, free_port

APP = Path(__file__).resolve().parent / "programs" / "babyweb_app"
PERIOD = 60  # seconds: the rule's period at the restart, far beyond the test's bounds
AGE = 54  # seconds: how long ago cron.ts says the rule last ran, at the restart


def get(port: int, path: str) -> bytes:
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=20) as resp:
        assert resp.status == 200
        return resp.read()


def cron(schedule: str) -> str:
    return "- description: tick\n  url: /tick\n  schedule: %s\n" % (schedule,)


def ticks(app: Path) -> list:
    path = app / "ticks.log"
    return [float(x) for x in path.read_text().split()] if path.exists() else []


def wait_ticks(p, app: Path, count: int, timeout: float) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = ticks(app)
        if len(got) >= count:
            return got
        assert p.proc.poll() is None, repr(p)
        time.sleep(0.1)
    p.kill()
    raise AssertionError("the cron rule ran %d times, not %d, within %.0f s:\n%r"
                         % (len(ticks(app)), count, timeout, p))


def test_babyweb_page_cron_and_fast_forward_at_restart(program, tmp_path):
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    serve = [sys.executable, str(app / "serve.py")]

    # First run: a page, and the rule "every 2 seconds" runs (and writes cron.ts).
    (app / "cron.yaml").write_text(cron("every 2 seconds"))
    port = free_port()
    first = program(serve + [str(port)], name="first", cwd=app)
    first.wait_port(port)
    assert b"hello from babyweb" in get(port, "/hello")
    wait_ticks(first, app, 1, 60)
    first.wait_output("updating /tick timestamp")
    first.stop(signal.SIGINT)
    assert_clean_exit(first, 0)
    last = json.loads((app / "cron.ts").read_text())["/tick"]
    assert abs(last - ticks(app)[0]) < 5

    # Restart: every PERIOD seconds, and cron.ts says it last ran AGE seconds
    # before the start: fast-forwarded by AGE, it runs PERIOD - AGE seconds
    # after the start, not PERIOD.
    (app / "ticks.log").unlink()
    (app / "cron.yaml").write_text(cron("every %d seconds" % (PERIOD,)))
    launched = time.time()
    (app / "cron.ts").write_text(json.dumps({"/tick": launched - AGE}))
    port = free_port()
    second = program(serve + [str(port)], name="second", cwd=app)
    second.wait_port(port)
    assert b"hello from babyweb" in get(port, "/hello")
    fired = wait_ticks(second, app, 1, 40)[0]
    assert "fast-forwarding /tick" in second.stdout, repr(second)
    assert "rescheduled for" in second.stdout, repr(second)
    # Never before the moved deadline (cron.ts's time + PERIOD), long before
    # the unmoved one (the start + PERIOD).
    assert fired >= launched - AGE + PERIOD - 0.5, (fired - launched, repr(second))
    assert fired < launched + PERIOD - 15, (fired - launched, repr(second))
    assert b"hello from babyweb" in get(port, "/hello")  # still serving after the rule ran
    second.stop(signal.SIGINT)
    assert_clean_exit(second, 0)
    assert len(ticks(app)) == 1  # re-armed for a full period: not again within the test
