"""rel on asyncio's loops (the ``asyncio`` registrar on asyncio's and uvloop's
loops): ping-pong, wake-up latency and idle beside those loops' own API; issue 11."""

from __future__ import annotations

import sys

from harness.contenders import Contender
from harness.jobs import Job, interleaved, opts, run_jobs
from harness.tables import Metric, bests, f_int, f_ms, f_rate, f_ratio, f_us, table
from harness.targets import no_worse, ratio_check


def run(ctx):
    """rel on asyncio's loops (the ``asyncio`` registrar, on asyncio's own loop and on uvloop's),
    beside those loops' own add_reader API and rel's default registrar: ping-pong and wake-up
    latency side by side in one process per run, then idle CPU and wake-ups."""
    cs, default, s, summary = ctx.cs, ctx.default, ctx.s, ctx.summary
    R = s["aioloop_repeats"]
    base = cs.get("rel:asyncio")
    why = base.unavailable if base else "the 'asyncio' registrar is not installed"
    uv_why = why or cs["uvloop"].unavailable

    def rel_on(spec, label, unavailable):
        return Contender(spec, "rel_core: asyncio registrar, " + label, sys.executable, spec, unavailable)

    in_loop = rel_on("rel:asyncio!run_forever", "asyncio's loop, in its run_forever()", why)
    row = [cs["asyncio"], cs["uvloop"], in_loop,
           rel_on("rel:asyncio@uvloop!run_forever", "uvloop's loop, in its run_forever()", uv_why),
           rel_on("rel:asyncio", "asyncio's loop, rel.dispatch()", why),
           rel_on("rel:asyncio@uvloop", "uvloop's loop, rel.dispatch()", uv_why)]
    if default in cs:
        row.append(cs[default])
    dispatched = row[4]

    pp_m = [Metric("rate", "round trips/s", True, f_rate)]
    pp = interleaved([Job(c.label, c, "pingpong.py", opts(s["pingpong"]), R) for c in row], "aioloop")
    run_jobs("aioloop", pp, pp_m)
    wk_m = [Metric("p50_us", "latency p50 µs", False, f_us), Metric("p99_us", "latency p99 µs", False, f_us)]
    wk = interleaved([Job(c.label, c, "wakeup.py", opts(s["wakeup"]), R) for c in row], "aioloop")
    run_jobs("aioloop", wk, wk_m)
    idle_m = [Metric("cpu_ms", "CPU ms", False, f_ms), Metric("wakeups", "wake-ups", False, f_int)]
    idle = [Job(c.label, c, "idle.py", opts(s["idle"]), s["idle_repeats"]) for c in row]
    run_jobs("aioloop", idle, idle_m)
    b_pp, b_wk, b_idle = bests(pp, pp_m), bests(wk, wk_m), bests(idle, idle_m)

    def each_run(jobs, key, c):
        """Per repeat, row ``c``'s value over asyncio's own (they ran side by side)."""
        ours = next(j for j in jobs if j.contender is c).results
        ref = next(j for j in jobs if j.contender is cs["asyncio"]).results
        return ", ".join(f_ratio(a[key] / r[key]) if key in a and r.get(key) else "-"
                         for a, r in zip(ours, ref))

    def runs(jobs, key):
        return "; ".join("%s: %s" % (c.label.split(", ", 1)[1], each_run(jobs, key, c))
                         for c in (in_loop, dispatched))

    note = ("One process per run for every row, each row with its own socketpair and loop, taking "
            "turns (as in the ping-pong and wake-up tables); best of %d runs. The asyncio registrar: "
            "rel's engine with asyncio's loop waiting (`initialize(['asyncio'])`; on uvloop through "
            "`rel_core.aio.use_loop(uvloop.new_event_loop())`), run either as rel runs inside an "
            "asyncio program (the loop's own `run_forever()`/`stop()`) or by `rel.dispatch()`, which "
            "waits for rel to end (its idle audit's clock is a thread: asyncio's heap holds nothing "
            "of rel's). asyncio and uvloop rows: their own `add_reader`/`call_later`." % (R,))
    refs = {"asyncio": b_pp.get("asyncio", {})}
    table("rel on asyncio's loops: ping-pong over a socketpair (round trips/s, higher is better)",
          pp, pp_m, refs, (note, "÷ asyncio, run by run: %s." % runs(pp, "rate")), ratio_refs=("asyncio",))
    table("rel on asyncio's loops: wake-up latency, timer callback writes a byte -> read callback runs "
          "(%d samples; µs, lower is better)" % s["wakeup"]["count"],
          wk, wk_m, {"asyncio": b_wk.get("asyncio", {})},
          ("p50 ÷ asyncio, run by run: %s." % runs(wk, "p50_us"),), ratio_refs=("asyncio",))
    table("rel on asyncio's loops: idle for %.0f s, one read watcher on a silent socket (lower is better)"
          % s["idle"]["seconds"], idle, idle_m, {"asyncio": b_idle.get("asyncio", {})},
          ("A process per row and run, best of %d; wake-ups: voluntary context switches."
           % s["idle_repeats"],), ratio_refs=("asyncio",))
    a_pp, a_wk, a_idle = b_pp.get("asyncio", {}), b_wk.get("asyncio", {}), b_idle.get("asyncio", {})
    for c in (in_loop, dispatched):
        how = c.label.split(", ", 1)[1]
        summary.append(("11", "ping-pong, rel on asyncio (%s) >= 0.9x asyncio's own add_reader" % how,
                        *ratio_check(b_pp.get(c.key, {}).get("rate"), a_pp.get("rate"), 0.9, "rt/s")))
        p50, ref = b_wk.get(c.key, {}).get("p50_us"), a_wk.get("p50_us")
        summary.append(("11", "wake-up p50, rel on asyncio (%s) <= 1.1x asyncio's" % how,
                        None if p50 is None or ref is None else p50 <= 1.1 * ref,
                        "n/a" if p50 is None or ref is None
                        else "%s vs %s µs (%.2fx)" % (f_us(p50), f_us(ref), p50 / ref)))
        summary.append(("11", "idle %.0f s, rel on asyncio (%s): wake-ups <= asyncio's"
                        % (s["idle"]["seconds"], how),
                        *no_worse(b_idle.get(c.key, {}).get("wakeups"), a_idle.get("wakeups"), f_int)))
    if default:
        for c in (row[3], row[5]):
            summary.append(("11", "(reported) ping-pong, rel on uvloop (%s) vs rel's %s registrar"
                            % (c.label.split(", ", 2)[2], default), "info",
                            ratio_check(b_pp.get(c.key, {}).get("rate"), b_pp.get(default, {}).get("rate"),
                                        1.0, "rt/s")[1]))
    return {name: {j.row: j.results for j in jobs} for name, jobs in (("pingpong", pp), ("wakeup", wk),
                                                                      ("idle", idle))}


