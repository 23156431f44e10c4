"""The performance page's tables and charts, from the JSON that ``nox -s bench -- --json FILE`` writes.

``python docs/_ext/benchcharts.py docs/_data/bench.json OUTDIR`` writes them by hand;
the docs build calls :func:`build`. Nothing here knows a figure: replace the JSON
with a new run's and rebuild. A scenario is shown when the JSON has it and
:data:`SCENARIOS` says how to read it (the harness's own tables name the same
metrics, see bench/run.py).
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Dict, List, Tuple

# {scenario: (title, [(metric key, label, higher is better)], log scale)}
SCENARIOS = {
    "pingpong": ("Socket ping-pong over a socketpair, 1-byte messages",
                 [("rate", "round trips/s", True)], False),
    "wakeup": ("Wake-up latency: a timer callback writes a byte, the read callback runs",
               [("p50_us", "latency p50 µs", False), ("p99_us", "latency p99 µs", False)], True),
    "timers": ("Timer lateness (µs after the deadline)",
               [("p50_us", "lateness p50 µs", False), ("p99_us", "lateness p99 µs", False)], True),
    "idle": ("CPU used while idle: one read watcher on a silent socket",
             [("cpu_ms", "CPU ms", False), ("wakeups", "wake-ups", False)], True),
    "manyfds": ("Many registered fds with random activity (read events handled/s)",
                [("batch_rate", "events/s, many ready at a time", True),
                 ("single_rate", "events/s, 1 ready at a time", True)], False),
    "buffwrite": ("Buffered writes through buffwrite (MiB/s)",
                  [("mib_per_s", "MiB/s", True)], False),
    "dezhttp": ("dez's HTTP hello world, keep-alive (requests/s)",
                [("rate_1", "req/s, 1 connection", True), ("rate_50", "req/s, 50 connections", True)], False),
    # A report of several tables: "scenario/table".
    "threads/churn": ("Two threads arming and deleting write watchers beside a 10 ms timer",
                      [("gap_ms", "longest timer gap ms", False), ("calls_peak", "peak queued calls", False)],
                      True),
    "threads/buffwrite": ("buffwrite from a worker thread (MiB/s)",
                          [("mib_per_s", "MiB/s", True)], False),
}
COLOURS = {"rel_core": "#2b6cb0", "asyncio": "#dd8452", "rel 0": "#8c8c8c", "floor": "#c7d7ea"}


def kind(row: str) -> str:
    """Which family a row of the harness belongs to, from its label."""
    if row.startswith("for scale"):  # a floor row by another name (the threads report)
        return "floor"
    for prefix in ("rel_core", "asyncio", "rel 0", "floor"):
        if row.startswith(prefix):
            return prefix
    return "rel_core" if "rel_core" in row else "other"


def best(runs: List[dict], key: str, higher: bool):
    values = [r[key] for r in runs if isinstance(r, dict) and isinstance(r.get(key), (int, float))]
    if not values:
        return None
    return max(values) if higher else min(values)


def rows_of(results: dict, metrics) -> List[Tuple[str, Dict[str, float]]]:
    out = []
    for row, runs in results.items():
        if not isinstance(runs, list):
            continue
        vals = {key: best(runs, key, higher) for key, _, higher in metrics}
        if any(v is not None for v in vals.values()):
            out.append((row, vals))
    return out


def fmt(value) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def ratio(value: float) -> str:
    """A ratio as the harness prints it: 1.39x, 134x, 0.0075x."""
    if value >= 100:
        return "%.0fx" % value
    return ("%.2fx" % value) if value >= 0.1 else ("%.2gx" % value)


def table(rows, metrics) -> str:
    ref = dict(rows).get(next((r for r, _ in rows if kind(r) == "asyncio"), ""), {})
    head = ["contender"]
    for _, label, _ in metrics:
        head += [label, "÷ asyncio"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for row, vals in rows:
        cells = [row]
        for key, _, _ in metrics:
            v, r = vals.get(key), ref.get(key)
            cells += [fmt(v), ratio(v / r) if v is not None and r else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def short(value: float, _pos=None) -> str:
    """An axis tick: 125000 -> 125k."""
    if value >= 1e6:
        return "%gM" % (value / 1e6)
    if value >= 1e3:
        return "%gk" % (value / 1e3)
    return "%g" % value


def chart(rows, metrics, log: bool) -> str:
    """A horizontal bar chart per metric, one above the other, as SVG text."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    matplotlib.rcParams.update({"svg.hashsalt": "rel-docs", "font.size": 10})
    labels = [r for r, _ in rows][::-1]
    panel = 0.36 * len(rows) + 0.8
    fig, axes = plt.subplots(len(metrics), 1, figsize=(7.5, panel * len(metrics)), squeeze=False)
    for ax, (key, label, higher) in zip(axes[:, 0], metrics):
        values = [dict(rows)[r].get(key) or 0 for r in labels]
        colours = [COLOURS.get(kind(r), "#555555") for r in labels]
        bars = ax.barh(range(len(labels)), values, color=colours, edgecolor="#333333", linewidth=0.4)
        for bar, r in zip(bars, labels):
            if kind(r) == "floor":
                bar.set_hatch("//")
        top = max(values) if values else 1
        if log:
            ax.set_xscale("log")
            ax.set_xlim(right=top * 4)
        else:
            ax.set_xlim(0, top * 1.18)
            ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(FuncFormatter(short))
        for i, v in enumerate(values):
            ax.text(v * 1.06 if log else v + top * 0.01, i, " " + fmt(v or None), va="center", fontsize=9)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels)
        ax.set_xlabel("%s (%s is better)" % (label, "higher" if higher else "lower"))
        ax.grid(axis="x", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()


def build(json_path: str) -> Dict[str, str]:
    """{file name: text}: ``bench_tables.md`` (included by a page at the docs' root)
    and one SVG per charted scenario."""
    with open(json_path, encoding="utf-8") as fh:
        data = json.load(fh)
    results = data.get("results", {})
    probe = data.get("probe", {})
    files: Dict[str, str] = {}
    parts = ["Python %s; rel_core %s; registrars available: %s." % (
        probe.get("python", "?"), probe.get("rel_core", "?"),
        ", ".join(n for n, v in sorted(probe.get("registrars", {}).items()) if v == "ok") or "?")]
    if data.get("settings", {}).get("repeats") == 1:
        parts.append("\nThese figures come from a `--quick` run: one repeat each, noisy.")
    for name, (title, metrics, log) in SCENARIOS.items():
        found = results
        for part in name.split("/"):
            found = found.get(part, {}) if isinstance(found, dict) else {}
        rows = rows_of(found, metrics)
        if not rows:
            continue
        stem = name.replace("/", "_")
        files["bench_%s.svg" % stem] = chart(rows, metrics, log)
        image = "```{image} _generated/bench_%s.svg\n:alt: %s\n:class: rel-chart\n```" % (stem, title)
        parts.append("\n### %s\n\n%s\n\n%s\n" % (title, image, table(rows, metrics)))
    files["bench_tables.md"] = "\n".join(parts) + "\n"
    return files


if __name__ == "__main__":
    src, out = sys.argv[1:3]
    os.makedirs(out, exist_ok=True)
    for fname, text in build(src).items():
        with open(os.path.join(out, fname), "w", encoding="utf-8") as fh:
            fh.write(text)
        print(os.path.join(out, fname))
