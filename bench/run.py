"""rel's benchmark: this project beside rel 0.4.9.27 and asyncio, in one run.

Run through ``nox -s bench`` (a venv holding the five local packages), or
directly with a Python that has them: ``python bench/run.py [--quick] [--only
pingpong,timers,...]``. See bench/README.md.

Every measurement runs in its own subprocess (one per scenario, contender and
repeat, the repeats interleaved across contenders): this project and asyncio
under this interpreter, rel 0.4.9.27 under a venv of its own that this script
creates (``pip install rel==0.4.9.27``). Each subprocess prints one JSON line;
this script keeps the best of the repeats, prints a markdown table per scenario
with ratios, then the issues' targets with PASS/FAIL. A missed target never
makes the exit status non-zero: only a broken harness does.

This file is the runner: the settings, the command line, the report's header
and footer. Each report (a scenario's tables and targets) is a module of
``reports/``; what they share (contenders, jobs, tables, checks) is ``harness/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from harness.contenders import (REL0_VENV, REL0_VERSION, Context, ensure_dez, ensure_rel0, make_contenders,
                                probe_project)
from harness.output import REPORT, log, out
from harness.targets import print_errors, print_summary
from reports import aioloop, buffwrite, dezhttp, idle, manyfds, pingpong, redisbus, threads, timers, wakeup

SETTINGS = {
    "full": {
        "repeats": 3,
        "pingpong": {"duration": 1.0},
        "pingpong_repeats": 5,
        "timers": {"count": 20000, "spread": 2.0},
        # asyncio and this project's rows share one process, in turns of 20
        # samples (see scenarios/wakeup.py): a latency of a few tens of µs
        # swings 2x with the machine's moment, and separate runs would
        # compare different moments.
        "wakeup": {"count": 3000},
        "wakeup_rel0": {"count": 1000, "max-seconds": 3.0},
        "wakeup_repeats": 1,
        "idle": {"seconds": 3.0},
        "idle_repeats": 2,
        "manyfds": {"pairs": 5000, "active": 200, "duration": 1.0},
        "buff_sizes": [1, 16, 64],
        "buff_rel0": {"mib": 4, "max-seconds": 5.0},
        "buff_rel0_repeats": 2,
        "redisbus": {"count": 100000, "paced": 2000},
        "redisbus_repeats": 2,
        "dezhttp": {"duration": 5.0, "connections": "1,50"},
        "dezhttp_repeats": 5,
        "aioloop_repeats": 3,
        # threads: the churn runs 3 s; a loop still draining its queue 30 s after the start is
        # ended by the scenario's watchdog (an error row with what it measured).
        "threads": {"seconds": 3.0, "interval": 0.01, "threads": 2, "max-seconds": 30.0},
        "threads_buffwrite": {"messages": 200000, "size": 1024, "max-seconds": 10.0},
        "threads_repeats": 2,
    },
    "quick": {
        "repeats": 1,
        "pingpong": {"duration": 0.5},
        "pingpong_repeats": 1,
        "timers": {"count": 5000, "spread": 0.5},
        "wakeup": {"count": 300},
        "wakeup_rel0": {"count": 300, "max-seconds": 1.0},
        "wakeup_repeats": 1,
        "idle": {"seconds": 1.0},
        "idle_repeats": 1,
        "manyfds": {"pairs": 5000, "active": 200, "duration": 0.4, "warmup": 0.1},
        "buff_sizes": [1, 4, 16],
        "buff_rel0": {"mib": 1, "max-seconds": 2.0},
        "buff_rel0_repeats": 1,
        "redisbus": {"count": 20000, "paced": 500},
        "redisbus_repeats": 1,
        "dezhttp": {"duration": 2.0, "connections": "1,50"},
        "dezhttp_repeats": 1,
        "aioloop_repeats": 1,
        "threads": {"seconds": 3.0, "interval": 0.01, "threads": 2, "max-seconds": 20.0},
        "threads_buffwrite": {"messages": 50000, "size": 1024, "max-seconds": 5.0},
        "threads_repeats": 1,
    },
}

# The reports, in the order they run and print.
REPORTS = {
    "pingpong": pingpong, "timers": timers, "wakeup": wakeup, "idle": idle, "manyfds": manyfds,
    "buffwrite": buffwrite, "dezhttp": dezhttp, "redisbus": redisbus, "aioloop": aioloop, "threads": threads,
}
ORDER = list(REPORTS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts, one repeat (about a minute)")
    ap.add_argument("--only", default="", help="comma-separated scenarios: " + ",".join(ORDER))
    ap.add_argument("--repeats", type=int, help="repeats per measurement (best is kept)")
    ap.add_argument("--rel0-venv", default=REL0_VENV, help="where rel 0.4.9.27's venv lives / is created")
    ap.add_argument("--no-install", action="store_true", help="do not create rel 0.4.9.27's venv")
    ap.add_argument("--json", help="also write every raw result to this file")
    args = ap.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    bad = [x for x in only if x not in ORDER]
    if bad:
        ap.error("unknown scenario(s) %s; known: %s" % (", ".join(bad), ", ".join(ORDER)))
    selected = [n for n in ORDER if not only or n in only]
    s = dict(SETTINGS["quick" if args.quick else "full"])
    if args.repeats:
        s.update(repeats=args.repeats, idle_repeats=args.repeats, buff_rel0_repeats=args.repeats,
                 redisbus_repeats=args.repeats, dezhttp_repeats=args.repeats,
                 pingpong_repeats=args.repeats, wakeup_repeats=args.repeats, threads_repeats=args.repeats)

    started = time.monotonic()
    probe = probe_project()
    rel0_python, rel0_why = ensure_rel0(args.rel0_venv, args.no_install)
    if rel0_why:
        log("bench: WARNING: rel %s will be reported n/a: %s" % (REL0_VERSION, rel0_why))
    cs, names, available, default = make_contenders(probe, rel0_python, rel0_why)
    dez_why = {}
    if "dezhttp" in selected:
        # this interpreter's dez comes from the bench session (or whoever runs this script);
        # rel 0.4.9.27's venv is this script's own, so dez is installed there if missing.
        if default:
            dez_why[default] = ensure_dez(sys.executable, skip_install=True)
        if rel0_python:
            dez_why["rel0"] = ensure_dez(rel0_python, args.no_install)

    out("## rel benchmark%s" % (" (--quick)" if args.quick else ""))
    out()
    out("- machine: %s, %s CPUs, load average at start %s" % (
        platform.platform(), os.cpu_count(), "%.2f %.2f %.2f" % os.getloadavg()))
    out("- Python %s (%s); rel_core %s; rel_util %s" % (
        platform.python_version(), sys.executable, probe.get("rel_core"),
        probe.get("rel_util") or "not importable (%s)" % probe.get("rel_util_error", "?")))
    off = [n for n in names if n not in available]
    out("- registrars (entry points 'rel.registrars'): %s; default: %s%s" % (
        ", ".join(available) or "none", default,
        "; not available here: %s" % ", ".join(off) if off else ""))
    out("- rel %s: %s" % (REL0_VERSION, rel0_python or "unavailable (%s)" % rel0_why))
    out("- each value: best of %d runs (ping-pong: %d, wake-up: %d, idle: %d), runs interleaved, one "
          "subprocess per run (ping-pong, wake-up: one per run for all rows but rel 0.4.9.27's, see "
          "below); ratios are value ÷ the reference row's value"
          % (s["repeats"], s["pingpong_repeats"], s["wakeup_repeats"], s["idle_repeats"]))

    ctx = Context(cs, names, available, default, s, dez_why)
    raw = {}
    try:
        for name in selected:
            log("bench: %s ..." % name)
            raw[name] = REPORTS[name].run(ctx)
        print_summary(ctx.summary)
        print_errors(raw)
        out("\nTotal bench time: %.0f s; load average at end %s" % (
            time.monotonic() - started, "%.2f %.2f %.2f" % os.getloadavg()))
    finally:
        sys.stderr.flush()
        print("\n".join(REPORT))
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"settings": s, "probe": probe, "results": raw}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
