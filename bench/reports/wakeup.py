"""Wake-up latency (a timer writes a byte -> the read callback runs); issue 2."""

from __future__ import annotations

from harness.contenders import REL0_VERSION
from harness.jobs import interleaved, jobs_for, opts, raw
from harness.tables import Metric, f_us, run_table
from harness.targets import no_worse


def run(ctx):
    s = ctx.s
    m = [Metric("p50_us", "latency p50 µs", False, f_us), Metric("p99_us", "latency p99 µs", False, f_us)]
    title = ("Wake-up latency: timer callback writes a byte -> read callback runs "
             "(%d samples; µs, lower is better)" % s["wakeup"]["count"])
    jobs = interleaved(jobs_for(ctx.base + ctx.ours_main, "wakeup.py", opts(s["wakeup"]), s["wakeup_repeats"],
                                rel0_args=opts(s["wakeup_rel0"])))
    notes = ("asyncio and rel_core: one process, each with its own socketpair and loop, taking turns "
             "of 20 samples (the first 3 of a turn uncounted), so that they meet the same moments "
             "of the machine. rel %s: a process "
             "of its own (another interpreter), at most %d samples or %.0f s."
             % (REL0_VERSION, s["wakeup_rel0"]["count"], s["wakeup_rel0"]["max-seconds"]),)
    b = run_table("wakeup", jobs, m, title, notes)
    for n in ctx.ours_targeted:
        for q in ("p50", "p99"):
            ctx.summary.append(("2", "wake-up latency %s (%s) <= asyncio's" % (q, n),
                                *no_worse(b.get(n, {}).get(q + "_us"), b.get("asyncio", {}).get(q + "_us"),
                                          lambda v: f_us(v) + " µs")))
    return raw(jobs)
