"""Calls from other threads while the loop runs (issue 25): write watchers armed
and deleted by two threads beside a 10 ms timer (its longest gap, its ticks,
the queue of cross-thread calls, the peak RSS), and buffwrite from a worker
thread (MiB/s); every registrar, asyncio and rel 0.4.9.27."""

from __future__ import annotations

from harness.contenders import REL0_VERSION, Contender
from harness.jobs import Job, jobs_for, opts, raw
from harness.tables import Metric, f_int, f_mibs, f_ms, f_na, f_rate, run_table

# Beyond the scenario's own bound (its watchdog): the harness kills the run then.
GRACE = 30.0
# Issue 25's target for every registrar: the timer's longest gap, and the
# queue of calls from other threads at most rel_core.calls.MAX_QUEUED.
GAP_TARGET_MS = 100.0
QUEUE_BOUND = 4096


def run(ctx):
    s = ctx.s
    c, w = s["threads"], s["threads_buffwrite"]
    rows = ctx.base + ctx.ours_all + ([ctx.cs["rel:asyncio"]] if "rel:asyncio" in ctx.cs else [])
    repeats = s["threads_repeats"]
    ideal = int(round(c["seconds"] / c["interval"]))
    churn_m = [Metric("gap_ms", "longest timer gap ms", False, f_ms),
               Metric("ticks", "ticks (ideal %d)" % ideal, True, f_int, ratios=False),
               Metric("calls_peak", "peak queued calls", False, f_na(f_int), ratios=False),
               Metric("rss_peak_mib", "peak RSS MiB", False, f_mibs, ratios=False),
               Metric("pairs_per_s", "arm+delete pairs/s", True, f_rate, ratios=False)]
    churn = jobs_for(rows, "threads.py", ["--phase", "churn"] + opts(c), repeats,
                     timeout=c["max-seconds"] + GRACE)
    d = ctx.cs.get(ctx.default) if ctx.default else None
    if d is not None:  # the floor: what any thread gets beside two that spin
        spin = Contender("spin", "for scale: threads spinning, calling nothing (%s)" % d.key,
                         d.python, d.spec, d.unavailable)
        churn.append(Job(spin.label, spin, "threads.py", ["--phase", "churn", "--spin"] + opts(c),
                         repeats, timeout=c["max-seconds"] + GRACE))
    title = ("Calls from other threads: %d threads arm and delete a write watcher in a tight loop for "
             "%.0f s beside a %.0f ms repeating timer (gap and queue: lower is better)"
             % (c["threads"], c["seconds"], c["interval"] * 1e3))
    notes = ("rel: `w = rel.write(sock, cb); w.delete()`; asyncio: "
             "`loop.call_soon_threadsafe(loop.add_writer, fd, cb)` then "
             "`call_soon_threadsafe(loop.remove_writer, fd)`; each thread on a socket of its own. "
             "Longest gap: between the start, the timer's ticks and the moment the loop stopped (its stop "
             "timer is due at %.0f s). Ticks: those within the %.0f s. Peak queued calls: the largest "
             "size of the queue of calls from other threads (rel_core: the registrar's `_calls`; asyncio: "
             "`loop._ready`), sampled at each tick and every 1000 pairs by the threads; rel %s has none "
             "(a call from a thread acts at once, from that thread): n/a. Peak RSS: the process's "
             "`ru_maxrss`. A loop still busy %.0f s after the start is stopped by the scenario's "
             "watchdog (an error row). The last row's threads call nothing: the gaps any thread gets "
             "beside two that spin (the GIL's switch interval and the machine's load), the floor of "
             "this table. Best of %d runs per column."
             % (c["seconds"], c["seconds"], REL0_VERSION, c["max-seconds"], repeats),)
    b = run_table("threads", churn, churn_m, title, notes)
    targets(ctx, b)
    mib = w["messages"] * w["size"] / float(1 << 20)
    buff_m = [Metric("mib_per_s", "MiB/s", True, f_mibs),
              Metric("handed_seconds", "worker's calls s", False, f_ms, ratios=False),
              Metric("rss_peak_mib", "peak RSS MiB", False, f_mibs, ratios=False)]
    buff = jobs_for(rows, "threads.py", ["--phase", "buffwrite"] + opts(w), repeats,
                    timeout=w["max-seconds"] + GRACE)
    title = ("buffwrite from a worker thread: %d messages of %d bytes (%.0f MiB) through a socketpair "
             "drained by a read watcher (MiB/s, higher is better)" % (w["messages"], w["size"], mib))
    notes = ("This project: `rel_util.buff.buffwrite(sock, data, sender, onerror)`; rel %s: "
             "`rel.buffwrite` (the same arguments); asyncio: `loop.call_soon_threadsafe(transport.write, "
             "data)` on a transport over the same socket. MiB/s: bytes read / time from the worker's "
             "first call to the last byte read (bounded to %.0f s). Worker's calls: how long the worker "
             "took to hand over every message. Best of %d runs."
             % (REL0_VERSION, w["max-seconds"], repeats),)
    run_table("threads", buff, buff_m, title, notes)
    return {"churn": raw(churn), "buffwrite": raw(buff)}



def targets(ctx, b):
    """Issue 25: on every registrar, the timer's longest gap under 100 ms and
    the queue within its bound; the spinning threads' gap beside them."""
    # This project's rows: its registrars ("asyncio" alone is asyncio's own loop's row).
    for n in [n for n in ctx.names if n in b and n != "asyncio"] + [n for n in ("rel:asyncio",) if n in b]:
        gap, queue = b[n].get("gap_ms"), b[n].get("calls_peak")
        ok = None if gap is None or queue is None else gap < GAP_TARGET_MS and queue <= QUEUE_BOUND
        detail = "n/a" if gap is None else f"{gap:.1f} ms, {int(queue or 0):,} queued"
        ctx.summary.append(("25", f"thread churn, {n}: timer gap < {GAP_TARGET_MS:.0f} ms, "
                                  f"queue <= {QUEUE_BOUND:,}", ok, detail))
    spin = b.get("spin", {}).get("gap_ms")
    if spin is not None:
        ctx.summary.append(("25", "(for scale) thread churn: threads spinning, calling nothing", "info",
                            f"{spin:.1f} ms longest gap"))
