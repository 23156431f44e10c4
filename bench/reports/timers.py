"""Timer lateness (p50/p99): the portable and default registrars beside asyncio; issue 2."""

from __future__ import annotations

from harness.jobs import jobs_for, opts, raw
from harness.tables import Metric, f_us, run_table
from harness.targets import no_worse


def run(ctx):
    s = ctx.s
    m = [Metric("p50_us", "lateness p50 µs", False, f_us),
         Metric("p99_us", "lateness p99 µs", False, f_us)]
    t = s["timers"]
    title = ("Timer lateness, %d timers due over %.1f s (µs after the deadline, lower is better)"
             % (t["count"], t["spread"]))
    jobs = jobs_for(ctx.base + ctx.ours_main, "timers.py", opts(t), s["repeats"])
    b = run_table("timers", jobs, m, title)
    for n in ctx.ours_targeted:
        ctx.summary.append(("2", "timer lateness p99 (%s) <= asyncio's" % n,
                            *no_worse(b.get(n, {}).get("p99_us"), b.get("asyncio", {}).get("p99_us"),
                                      lambda v: f_us(v) + " µs")))
    return raw(jobs)
