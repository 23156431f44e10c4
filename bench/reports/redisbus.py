"""rel_util's bus between two processes through a real redis-server, beside
redis-py's own PubSub.listen() loop; issue 12."""

from __future__ import annotations

import sys

from harness.contenders import Contender
from harness.jobs import Job, opts, raw, run_jobs
from harness.output import out
from harness.tables import Metric, bests, cell_status, f_rate, f_ratio, f_us
from harness.targets import ratio_check


def run(ctx):
    """rel_util's bus between two processes over a real redis-server, beside redis-py's own
    blocking PubSub.listen() loop (scenarios/redisbus.py starts and stops the server)."""
    cs, default, s, summary = ctx.cs, ctx.default, ctx.s, ctx.summary
    t = s["redisbus"]
    ours = cs.get(default) if default else None
    ref = Contender("redispy", "redis-py", sys.executable, "redispy")
    jobs = [Job("redis-py: PubSub.listen() loop, pipelined PUBLISH (hiredis)", ref, "redisbus.py", opts(t),
                s["redisbus_repeats"])]
    if ours is not None:
        jobs.append(Job("rel_util bus over Redis, rel_core: %s (hiredis)" % (default,), ours, "redisbus.py",
                        opts(t), s["redisbus_repeats"]))
    m = [Metric("rate", "messages/s", True, f_rate), Metric("p50_us", "latency p50 µs", False, f_us),
         Metric("p99_us", "latency p99 µs", False, f_us),
         Metric("ping_p50_us", "other socket p50 µs", False, f_us),
         Metric("ping_p99_us", "other socket p99 µs", False, f_us)]
    run_jobs("redisbus", jobs, m)
    refbest = bests(jobs[:1], m).get("redispy", {})
    lines = ["", "### The bus across two processes through redis-server: %d-message burst, then %d paced "
             "(messages/s higher is better; µs lower is better)" % (t["count"], t["paced"]), "",
             "| contender | messages/s | ÷ redis-py | latency p50 µs | latency p99 µs | unrelated socket "
             "wake-up p50 µs during the burst | p99 µs |", "|---|---:|---:|---:|---:|---:|---:|"]
    for job in jobs:
        status = cell_status(job)
        if status:
            lines.append("| %s | %s | | | | | |" % (job.row, status))
            continue
        b = {x.key: x.best(job.results) for x in m}
        ratio = f_ratio(b["rate"] / refbest["rate"]) if b["rate"] and refbest.get("rate") else "-"
        ping = (f_us(b["ping_p50_us"]), f_us(b["ping_p99_us"])) if b["ping_p50_us"] is not None else (
            "n/a (blocked in listen())", "")
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            job.row, f_rate(b["rate"]), ratio, f_us(b["p50_us"]), f_us(b["p99_us"]), ping[0], ping[1]))
    lines += ["", "Two processes on one redis-server (started by the scenario on a free port, stopped "
              "after), payload JSON [i, t] (rel: inside its envelope), decoded on receipt by the same "
              "JSON decoder in both. messages/s: the burst, first send to the last arrival. "
              "Latency: %d messages 0.5 ms apart once the burst is in, arrival - send. The unrelated "
              "socket: another process writes a timestamp to a socketpair every 2 ms during the burst, "
              "read by a rel watcher in the listener; redis-py's listen() loop cannot watch it at all."
              % (t["paced"],)]
    out("\n".join(lines))
    rate = bests(jobs[1:], m).get(default, {}).get("rate") if len(jobs) > 1 else None
    summary.append(("12", "bus over Redis: messages/s >= 1x redis-py's PubSub.listen()",
                    *ratio_check(rate, refbest.get("rate"), 1.0, "msg/s")))
    return raw(jobs)
