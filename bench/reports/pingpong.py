"""Socket ping-pong (round trips/s): every registrar, asyncio, the floors; issues 2 and 3."""

from __future__ import annotations

from harness.contenders import FLOOR_NOTE, PORTABLE, REL0_VERSION
from harness.jobs import interleaved, jobs_for, opts, raw
from harness.tables import Metric, f_rate, run_table
from harness.targets import ratio_check


def run(ctx):
    s = ctx.s
    m = [Metric("rate", "round trips/s", True, f_rate)]
    title = "Socket ping-pong over a socketpair, 1-byte messages (round trips/s, higher is better)"
    jobs = interleaved(jobs_for(ctx.base + ctx.ours_all + ctx.floor, "pingpong.py", opts(s["pingpong"]),
                                s["pingpong_repeats"]))
    notes = ("Every row but rel %s's runs in one process, each with its own socketpair and loop, "
             "in turns of 50 ms until each has run %.1f s, so that they meet the same moments of "
             "the machine; the best of %d such runs. rel %s: a process of its own (another "
             "interpreter), %.1f s." % (REL0_VERSION, s["pingpong"]["duration"], s["pingpong_repeats"],
                                       REL0_VERSION, s["pingpong"]["duration"]), FLOOR_NOTE)
    b = run_table("pingpong", jobs, m, title, notes)
    targets(b, ctx.summary)
    return raw(jobs)


def targets(b, summary):
    p = b.get(PORTABLE, {}).get("rate")
    summary.append(("2", "ping-pong, portable (%s) >= 1.1x asyncio" % PORTABLE,
                    *ratio_check(p, b.get("asyncio", {}).get("rate"), 1.1, "rt/s")))
    summary.append(("2", "ping-pong, portable (%s) >= 100x rel %s" % (PORTABLE, REL0_VERSION),
                    *ratio_check(p, b.get("rel0", {}).get("rate"), 100.0, "rt/s")))
    e = b.get("epoll", {}).get("rate")
    summary.append(("3", "ping-pong, epoll >= 1.1x portable (%s)" % PORTABLE,
                    *ratio_check(e, p, 1.1, "rt/s")))
    summary.append(("3", "ping-pong, epoll >= 1.2x asyncio",
                    *ratio_check(e, b.get("asyncio", {}).get("rate"), 1.2, "rt/s")))
    r0 = b.get("rel0", {}).get("rate")
    for key, what in (("floor", "the floor, no engine at all"),
                      ("floor:selectors", "the selectors floor, no engine on selectors")):
        floor = b.get(key, {}).get("rate")
        if floor and r0:
            summary.append(("2", "(for scale) ping-pong: %s, vs rel %s" % (what, REL0_VERSION), "info",
                            ratio_check(floor, r0, 100.0, "rt/s")[1]))
