"""The issues' targets: the checks, the summary table, the failed runs."""

from __future__ import annotations

from .output import out
from .tables import f_rate


def ratio_check(v, ref, need, unit=""):
    """(passed or None, detail) for v >= need * ref."""
    if v is None or not ref:
        return None, "n/a"
    r = v / ref
    return r >= need, "%sx (%s vs %s%s)" % ("%.2f" % r if r < 10 else "%.0f" % r,
                                           f_rate(v) if v >= 10 else "%.2f" % v,
                                           f_rate(ref) if ref >= 10 else "%.2f" % ref,
                                           " " + unit if unit else "")


def no_worse(v, ref, fmt, slack=0.0):
    """(passed or None, detail) for v <= ref + slack (lower is better)."""
    if v is None or ref is None:
        return None, "n/a"
    return v <= ref + slack, "%s vs asyncio %s (%.2fx)" % (fmt(v), fmt(ref), v / ref if ref else float("inf"))


def print_summary(summary):
    out("\n### Targets (issues 2, 3, 4, 10, 11, 12)\n")
    out("| issue | target | result | measured |")
    out("|---|---|---|---|")
    for issue, what, ok, detail in summary:
        verdict = ok if isinstance(ok, str) else "n/a" if ok is None else ("PASS" if ok else "FAIL")
        out("| #%s | %s | %s | %s |" % (issue, what, verdict, detail))
    out("\n(No assertion: a missed target is reported here, never as a failing exit status.)")


def print_errors(raw):
    """The stderr tail of every run that failed (an engine crash shows here)."""
    seen = []

    def collect(scenario, rows):
        for row, results in rows.items():
            if isinstance(results, dict):  # a report of several tables: {table: {row: [...]}}
                collect(scenario, results)
                continue
            for r in results:
                if "error" in r and (row, r["error"]) not in [(x[1], x[2]) for x in seen]:
                    seen.append((scenario, row, r["error"], r.get("stderr", "")))

    for scenario, rows in raw.items():
        collect(scenario, rows)
    if not seen:
        return
    out("\n### Failed runs\n")
    for scenario, row, err, stderr in seen:
        out("- %s, %s: %s" % (scenario, row, err))
        tail = stderr.strip().splitlines()[-8:]
        if tail:
            out("")
            out("```")
            out("\n".join(tail))
            out("```")
