"""dez's HTTP hello-world sample served on rel 0.4.9.27, on this project and on
the floor (requests/s, p99, server CPU per request); issue 10."""

from __future__ import annotations

import shutil
import subprocess

from harness.contenders import DEZ, REL0_VERSION
from harness.jobs import Job, opts, raw, run_jobs
from harness.tables import Metric, bests, f_ms, f_rate, f_us, table
from harness.targets import ratio_check

DEZ_FLOOR_NOTE = ("floor: dez's same sample on `bench/scenarios/floor_rel/rel`, not an engine but "
                  "the yardstick: a bare `select.epoll`, a dict of fds and a heap of timers, with just "
                  "the part of rel's API that dez calls and the return-value rules dez relies on, "
                  "nothing else (no threads, no exceptions handled, no closed fds found). Its rate is "
                  "dez's own cost and the system calls' on this machine at that moment: the most any "
                  "engine with rel's API could reach in this run.")



def run(ctx):
    """dez's hello-world served on rel 0.4.9.27 and on this project: requests/s and p99 latency."""
    cs, default, s, summary, dez_why = ctx.cs, ctx.default, ctx.s, ctx.summary, ctx.dez_why
    d = s["dezhttp"]
    counts = [int(n) for n in d["connections"].split(",")]
    m = []
    for n in counts:
        conns = "%d connection%s" % (n, "" if n == 1 else "s")
        m += [Metric("rate_%d" % n, "req/s, %s" % conns, True, f_rate),
              Metric("p99_ms_%d" % n, "p99 ms, %s" % conns, False, f_ms),
              Metric("cpu_us_%d" % n, "server CPU µs/req, %s" % conns, False, f_us)]
    tool = "wrk" if shutil.which("wrk") else "python"
    jobs = []
    for key, label in (("rel0", "dez on rel %s (epoll)" % REL0_VERSION),
                       (default, "dez on this project: rel_core %s" % (default,)),
                       ("floor", "floor: dez on a bare epoll loop with rel's API")):
        c = cs.get(key) if key else None
        if c is None:
            continue
        # The floor's server is the bench venv's interpreter, as ours is: dez is there or not alike.
        why = c.unavailable or dez_why.get(default if key == "floor" else key)
        c = c.but_unavailable(why)  # a copy: the contender stays available to the other scenarios
        jobs.append(Job(label, c, "dezhttp.py", opts(d) + ["--tool", tool], s["dezhttp_repeats"]))
    run_jobs("dezhttp", jobs, m)
    b = bests(jobs, m)
    load = ("wrk %s, 1 thread" % wrk_version() if tool == "wrk" else
            "no wrk on PATH: a Python client (one selectors loop)")
    table("dez %s's HTTP hello-world sample (GET /index, keep-alive), served on rel %s and on this "
          "project (requests/s higher is better, p99 latency lower is better)"
          % (DEZ.split("==")[1], REL0_VERSION),
          jobs, m, {"rel0": b.get("rel0", {})},
          ("Server: dez's own `dez_test httpd_hello_world -e epoll -s` in a process of the row's "
           "interpreter, unchanged. Load: %s, %s s per connection count, `Connection: keep-alive` "
           "(dez closes a connection after its response otherwise); every response checked "
           "(a non-2xx or a socket error makes the run an error). Server CPU µs/req: the server "
           "process's CPU time (/proc/PID/stat) over the requests answered, the measure that moves "
           "least with the machine's load. Best of %d runs."
           % (load, f_ms(d["duration"]).rstrip("0").rstrip("."), s["dezhttp_repeats"]),
           DEZ_FLOOR_NOTE),
          ratio_refs=("rel0",))
    ours = b.get(default, {}) if default else {}
    r0 = b.get("rel0", {})
    floor = b.get("floor", {})
    for n, need in ((50, 2.0), (1, 20.0)):
        if n in counts:
            conns = "%d connection%s" % (n, "" if n == 1 else "s")
            summary.append(("10", "dez hello world, %s: >= %gx rel %s's requests/s"
                            % (conns, need, REL0_VERSION),
                            *ratio_check(ours.get("rate_%d" % n), r0.get("rate_%d" % n), need, "req/s")))
            if floor.get("rate_%d" % n) and r0.get("rate_%d" % n):
                summary.append(("10", "(for scale) dez hello world, %s: the floor, no engine at all, "
                                "vs rel %s" % (conns, REL0_VERSION), "info",
                                ratio_check(floor["rate_%d" % n], r0["rate_%d" % n], need, "req/s")[1]))
    return raw(jobs)


def wrk_version():
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    words = (out.stdout + out.stderr).split()
    return words[1] if len(words) > 1 else "?"

