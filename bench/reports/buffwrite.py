"""buffwrite throughput (MiB/s, CPU per MiB) through a socketpair, and this
project's CPU by payload size; issue 4."""

from __future__ import annotations

from harness.contenders import REL0_VERSION
from harness.jobs import Job, opts, raw, run_jobs
from harness.output import out
from harness.tables import Metric, bests, cell_status, f_mibs, f_spm, table
from harness.targets import ratio_check


def run(ctx):
    """The buffwrite table (throughput) and the CPU-per-MiB table of this project."""
    cs, default, s, summary = ctx.cs, ctx.default, ctx.s, ctx.summary
    sizes = s["buff_sizes"]
    big = sizes[-1]
    ours = cs.get(default) if default else None
    ours_label = "rel_core + rel_util: %s (default)" % (default,)
    r0 = s["buff_rel0"]
    m = [Metric("mib_per_s", "MiB/s", True, f_mibs), Metric("cpu_s_per_mib", "CPU per MiB", False, f_spm)]
    jobs = [Job("asyncio sock_sendall, %d MiB" % big, cs["asyncio"], "buffwrite.py", ["--mib", big],
                s["repeats"]),
            Job("rel %s buffwrite, %s MiB (time-bounded)" % (REL0_VERSION, r0["mib"]), cs["rel0"],
                "buffwrite.py", opts(r0), s["buff_rel0_repeats"])]
    size_jobs = []
    if ours is not None:
        for mib in sizes:
            size_jobs.append(Job("%s, %d MiB" % (ours_label, mib), ours, "buffwrite.py", ["--mib", mib],
                                 s["repeats"]))
    run_jobs("buffwrite", jobs + size_jobs, m)
    refs = {"asyncio": bests(jobs[:1], m).get("asyncio", {}), "rel0": bests(jobs[1:2], m).get("rel0", {})}
    main_rows = jobs + size_jobs[-1:]
    table("buffwrite through a socketpair drained by a read watcher (MiB/s higher is better; CPU per MiB "
          "lower is better)", main_rows, m, refs,
          ("sender = lambda s, d: s.send(d). rel %s is bounded to %s MiB / %.0f s (its rate: bytes "
           "received / time)." % (REL0_VERSION, r0["mib"], r0["max-seconds"]),))
    # CPU growth table
    lines = ["", "### buffwrite CPU time by payload size, this project (%s)" % (default,), "",
             "| payload | wall s | CPU s | CPU s per MiB | MiB/s |", "|---:|---:|---:|---:|---:|"]
    per_mib = {}
    for mib, job in zip(sizes, size_jobs):
        status = cell_status(job)
        if status:
            lines.append("| %d MiB | %s | | | |" % (mib, status))
            continue
        ok = [r for r in job.results if "error" not in r and "na" not in r]
        best = min(ok, key=lambda r: r["cpu_seconds"])
        per_mib[mib] = best["cpu_seconds"] / best["mib_received"]
        lines.append("| %d MiB | %.3f | %.3f | %.4f | %s |" % (
            mib, best["seconds"], best["cpu_seconds"], per_mib[mib], f_mibs(max(r["mib_per_s"] for r in ok))))
    if ours is None:
        lines.append("| - | no registrar of this project runs here | | | |")
    out("\n".join(lines))
    ours_best = bests(size_jobs[-1:], m).get(default, {}) if size_jobs else {}
    rate = ours_best.get("mib_per_s")
    r0rate = refs["rel0"].get("mib_per_s")
    summary.append(("4", "buffwrite >= 100x rel %s's throughput" % REL0_VERSION,
                    *ratio_check(rate, r0rate, 100.0, "MiB/s")))
    summary.append(("4", "buffwrite >= 500 MiB/s (%d MiB)" % big,
                    None if rate is None else rate >= 500,
                    "n/a" if rate is None else "%s MiB/s" % f_mibs(rate)))
    mid = sizes[-2]
    if mid in per_mib and big in per_mib:
        growth = per_mib[big] / per_mib[mid]
        summary.append(("4", "buffwrite CPU grows linearly (CPU/MiB at %d MiB <= 1.5x that at %d MiB)"
                        % (big, mid), growth <= 1.5,
                        "%.2f vs %.2f ms/MiB (%.2fx)" % (per_mib[big] * 1e3, per_mib[mid] * 1e3, growth)))
    else:
        summary.append(("4", "buffwrite CPU grows linearly", None, "n/a"))
    return raw(jobs + size_jobs)
