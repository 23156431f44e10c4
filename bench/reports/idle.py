"""CPU and wake-ups while idle, one read watcher on a silent socket; issue 2."""

from __future__ import annotations

from harness.jobs import jobs_for, opts, raw
from harness.tables import Metric, f_int, f_ms, run_table
from harness.targets import no_worse


def run(ctx):
    s = ctx.s
    m = [Metric("cpu_ms", "CPU ms", False, f_ms), Metric("wakeups", "wake-ups", False, f_int)]
    title = ("CPU used while idle for %.0f s: one read watcher on a silent socket (lower is better)"
             % s["idle"]["seconds"])
    notes = ("wake-ups: voluntary context switches (getrusage ru_nvcsw), i.e. how often the "
             "process went to sleep and was woken.",)
    jobs = jobs_for(ctx.base + ctx.ours_main, "idle.py", opts(s["idle"]), s["idle_repeats"])
    b = run_table("idle", jobs, m, title, notes)
    for n in ctx.ours_targeted:
        ctx.summary.append(("2", "idle CPU (%s) <= asyncio's (+1 ms tolerance over the run)" % n,
                            *no_worse(b.get(n, {}).get("cpu_ms"), b.get("asyncio", {}).get("cpu_ms"),
                                      lambda v: "%.2f ms" % v, slack=1.0)))
    return raw(jobs)
