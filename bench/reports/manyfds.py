"""10k registered fds with random activity (events/s): every registrar, the floors; issue 3."""

from __future__ import annotations

from harness.contenders import FLOOR_NOTE, REL0_VERSION
from harness.jobs import jobs_for, opts, raw
from harness.tables import Metric, f_rate, run_table
from harness.targets import ratio_check


def run(ctx):
    s = ctx.s
    t = s["manyfds"]
    m = [Metric("batch_rate", "events/s, %d ready at a time" % t["active"], True, f_rate),
         Metric("single_rate", "events/s, 1 ready at a time", True, f_rate)]
    title = ("%d registered fds (%d socketpairs) with random activity (read events handled/s, "
             "higher is better)" % (2 * t["pairs"], t["pairs"]))
    notes = ("Left: rounds of %d random pairs written at once, the next round when all were read "
             "(rel 0.4.9.27 handles a round per sleep, so its sleep is shared by the round). "
             "Right: a chain, one random pair at a time, each read callback writing the next "
             "(every event waits for a loop pass: latency-bound; poll and select pay a scan of "
             "all 10k fds per pass)." % t["active"], FLOOR_NOTE)
    jobs = jobs_for(ctx.base + ctx.ours_all + ctx.floor, "manyfds.py", opts(t), s["repeats"])
    b = run_table("manyfds", jobs, m, title, notes)
    r0 = b.get("rel0", {})
    for key, what in (("batch_rate", "rounds of many ready fds"),
                      ("single_rate", "one ready fd at a time")):
        ctx.summary.append(("3", "10k fds, %s: epoll >= 100x rel %s" % (what, REL0_VERSION),
                            *ratio_check(b.get("epoll", {}).get(key), r0.get(key), 100.0, "events/s")))
        floor = b.get("floor", {}).get(key)
        if floor and r0.get(key):
            ctx.summary.append(("3", "(for scale) 10k fds, %s: the floor, no engine at all, vs rel %s"
                                % (what, REL0_VERSION), "info",
                                ratio_check(floor, r0.get(key), 100.0, "events/s")[1]))
    return raw(jobs)
