"""The report's tables: metrics, number formats, a markdown table per scenario
with each value divided by the reference rows' (asyncio's, rel 0.4.9.27's)."""

from __future__ import annotations

from .contenders import REL0_VERSION
from .jobs import run_jobs
from .output import out


class Metric:
    """One column: a key of the scenario's JSON result, its title, which way is
    better; ``ratios=False``: no ratio columns beside it in :func:`table`."""

    def __init__(self, key, title, higher_better, fmt, ratios=True):
        self.key = key
        self.title = title
        self.higher_better = higher_better
        self.fmt = fmt
        self.ratios = ratios

    def best(self, results):
        vals = [r[self.key] for r in results if "error" not in r and "na" not in r
                and isinstance(r.get(self.key), (int, float))]
        if not vals:
            return None
        return max(vals) if self.higher_better else min(vals)


def f_rate(v):
    return "-" if v is None else f"{v:,.0f}"


def f_us(v):
    return "-" if v is None else ("%.1f" % v if v < 1000 else f"{v:,.0f}")


def f_ms(v):
    return "-" if v is None else "%.2f" % v


def f_int(v):
    return "-" if v is None else f"{int(v):,}"


def f_mibs(v):
    return "-" if v is None else ("%.2f" % v if v < 10 else f"{v:,.0f}")


def f_spm(v):
    return "-" if v is None else "%.2f ms" % (v * 1e3)


def f_na(fmt):
    """``fmt``, but "n/a" for a value the contender cannot show (None)."""
    return lambda v: "n/a" if v is None else fmt(v)


def f_ratio(v):
    if v is None:
        return "-"
    if v < 0.1:
        return "%.2gx" % v
    return "%.2fx" % v if v < 10 else "%.0fx" % v


def cell_status(job):
    """The cell text for a row without numbers (n/a or error), else None."""
    ok = [r for r in job.results if "error" not in r and "na" not in r]
    if ok:
        return None
    na = [r["na"] for r in job.results if "na" in r]
    if na:
        if "FD_SETSIZE" in na[0]:
            return "n/a (FD_SETSIZE)"
        return "n/a (%s)" % (na[0][:90],)
    errs = [r["error"] for r in job.results if "error" in r]
    return "error: %s" % (errs[0][:120] if errs else "no result",)


def table(title, jobs, metrics, refs, notes=(), ratio_refs=("asyncio", "rel0")):
    """A markdown table: per metric, the value and its ratio to each reference row."""
    lines = ["", "### " + title, ""]
    head = ["contender"]
    names = {"asyncio": "÷ asyncio", "rel0": "÷ rel %s" % REL0_VERSION}
    for m in metrics:
        head += [m.title] + [names[r] for r in ratio_refs if m.ratios]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for job in jobs:
        status = cell_status(job)
        row = [job.row]
        for m in metrics:
            refs_here = ratio_refs if m.ratios else ()
            if status:
                row += [status if m is metrics[0] else ""] + [""] * len(refs_here)
                continue
            v = m.best(job.results)
            row.append(m.fmt(v))
            for ref in refs_here:
                rv = refs.get(ref, {}).get(m.key)
                row.append(f_ratio(v / rv) if v is not None and rv else "-")
        lines.append("| " + " | ".join(row) + " |")
    for n in notes:
        lines.append("")
        lines.append(n)
    out("\n".join(lines))


def bests(jobs, metrics):
    """{contender key: {metric key: best value}} of the plain rows (refs and targets)."""
    res = {}
    for job in jobs:
        res.setdefault(job.contender.key, {})
        for m in metrics:
            v = m.best(job.results)
            if v is not None:
                res[job.contender.key][m.key] = v
    return res


def run_table(name, jobs, metrics, title, notes=()):
    """The common report: run ``jobs``, print their table with ratios to asyncio
    and rel 0.4.9.27; returns the best values, {contender key: {metric: value}}."""
    run_jobs(name, jobs, metrics)
    b = bests(jobs, metrics)
    table(title, jobs, metrics, {"asyncio": b.get("asyncio", {}), "rel0": b.get("rel0", {})}, notes)
    return b
