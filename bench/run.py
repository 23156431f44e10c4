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
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS_DIR = os.path.join(HERE, "scenarios")
REL0_VERSION = "0.4.9.27"
REL0_VENV = os.path.join(HERE, ".venv-rel0")
# Registrars in the order their rows are shown (others follow, sorted); the
# first available is what initialize() picks by default.
PREFERENCE = ["epoll", "kqueue", "devpoll", "poll", "select", "selectors"]
PORTABLE = "selectors"
SUBPROCESS_TIMEOUT = 180

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
        "threadcalls": {"seconds": 3.0, "threads": 2},
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
        "threadcalls": {"seconds": 1.0, "threads": 2},
    },
}

ORDER = ["pingpong", "timers", "wakeup", "idle", "manyfds", "buffwrite", "dezhttp", "redisbus", "aioloop",
         "threadcalls"]
# Registrars with a table of their own (aioloop), left out of the generic rows.
OWN_TABLE = {"asyncio"}
# dez, one of rel's users: its HTTP hello-world sample is the dezhttp scenario's server.
DEZ = "dez==0.10.10.56"
DEZ_DEPS = ["psutil>=5.9.1", "python-magic>=0.4.11"]


REPORT = []  # the report's lines, printed on stdout at the end (progress goes to stderr)


def out(text=""):
    REPORT.extend(str(text).split("\n"))


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# -- contenders -----------------------------------------------------------------------------


class Contender:
    """One column of the comparison: a label, an interpreter, a --contender spec."""

    def __init__(self, key, label, python, spec, unavailable=None):
        self.key = key  # "asyncio", "rel0", or a registrar name
        self.label = label
        self.python = python
        self.spec = spec
        self.unavailable = unavailable  # why it cannot run, or None


def probe_project():
    """Ask this interpreter which registrars run here and whether rel_util imports."""
    res = run_script("probe.py", sys.executable, [])
    if "error" in res:
        raise SystemExit("bench: cannot probe this project's packages: %s" % (res["error"],))
    return res


def ensure_rel0(path, skip_install=False):
    """The python of a venv holding rel 0.4.9.27 (created if needed), or (None, why)."""
    py = os.path.join(path, "bin", "python")
    check = [py, "-c", "from importlib.metadata import version; print(version('rel'))"]

    def installed():
        try:
            out = subprocess.run(check, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if os.path.exists(py) and installed() == REL0_VERSION:
        return py, None
    if skip_install:
        return None, "no venv with rel %s at %s (--no-install)" % (REL0_VERSION, path)
    log("bench: creating %s with rel==%s from the registry ..." % (path, REL0_VERSION))
    if os.path.exists(path):
        shutil.rmtree(path)
    steps = [[sys.executable, "-m", "venv", path],
             [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "rel==" + REL0_VERSION]]
    for cmd in steps:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, "%s failed: %s" % (" ".join(cmd[:4]), exc)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            return None, "%s failed: %s" % (" ".join(cmd[:4]), " | ".join(tail))
    version = installed()
    if version != REL0_VERSION:
        return None, "venv at %s holds rel %r, not %s" % (path, version, REL0_VERSION)
    return py, None


def ensure_dez(python, skip_install=False):
    """None when ``python`` imports dez (installing it there with --no-deps, so that it keeps that
    venv's rel, unless skip_install), else why not."""
    check = [python, "-c", "import dez.http.server"]

    def ok():
        try:
            return subprocess.run(check, capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    if ok():
        return None
    if skip_install:
        return "dez is not installed in %s" % (python,)
    log("bench: installing %s (--no-deps) into %s ..." % (DEZ, python))
    for args in (["--no-deps", DEZ], DEZ_DEPS):
        cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + args
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return "%s failed: %s" % (" ".join(cmd[3:]), exc)
        if out.returncode != 0:
            return "pip install %s failed: %s" % (" ".join(args), (out.stderr or out.stdout).strip()[-200:])
    return None if ok() else "dez still not importable by %s" % (python,)


def make_contenders(probe, rel0_python, rel0_why):
    registrars = probe.get("registrars", {})
    names = [n for n in PREFERENCE if n in registrars] + sorted(n for n in registrars if n not in PREFERENCE)
    available = [n for n in names if registrars[n] == "ok"]
    default = available[0] if available else None
    cs = {
        "asyncio": Contender("asyncio", "asyncio (%s)" % platform.python_version(), sys.executable,
                             "asyncio"),
        "rel0": Contender("rel0", "rel %s (epoll)" % REL0_VERSION, rel0_python, "rel0",
                          None if rel0_python else "rel %s unavailable: %s" % (REL0_VERSION, rel0_why)),
    }
    cs["floor"] = Contender("floor", "floor: no engine, a bare epoll loop", sys.executable, "floor",
                            None if hasattr(select, "epoll") else "needs select.epoll (Linux)")
    cs["floor:selectors"] = Contender("floor:selectors", "floor: no engine, a bare selectors loop",
                                      sys.executable, "floor:selectors")
    cs["uvloop"] = Contender("uvloop", "uvloop (%s)" % (probe.get("uvloop") or "-"), sys.executable,
                             "uvloop", None if probe.get("uvloop") else
                             "uvloop is not installed (a bench-only dependency)")
    if "asyncio" in registrars:  # the registrar, keyed apart from asyncio's own loop
        why = None if registrars["asyncio"] == "ok" else registrars["asyncio"]
        cs["rel:asyncio"] = Contender("rel:asyncio", "rel_core: asyncio", sys.executable, "rel:asyncio", why)
    for n in available:
        if n in OWN_TABLE:
            continue
        tag = " (portable)" if n == PORTABLE else ""
        tag += " (default)" if n == default and n != PORTABLE else ""
        why = None if registrars[n] == "ok" else registrars[n]
        cs[n] = Contender(n, "rel_core: %s%s" % (n, tag), sys.executable, "rel:" + n, why)
    return cs, names, available, default


# -- running ----------------------------------------------------------------------------------


def run_script(script, python, args):
    """Run one scenario script; its last stdout line parsed, or {"error": ...}."""
    cmd = [python, os.path.join(SCENARIOS_DIR, script)] + [str(a) for a in args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT,
                             cwd=SCENARIOS_DIR)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after %d s" % SUBPROCESS_TIMEOUT}
    except OSError as exc:
        return {"error": "could not start %s: %s" % (python, exc)}
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        tail = out.stderr.strip().splitlines()[-1:] or ["exit status %d, no output" % out.returncode]
        return {"error": tail[0][:200], "stderr": out.stderr[-2000:]}
    try:
        return json.loads(lines[-1])
    except ValueError:
        return {"error": "unparsable output: %r" % (lines[-1][:200],)}


def opts(d):
    args = []
    for k, v in d.items():
        args += ["--" + k, v]
    return args


class Job:
    """One row of a table: a contender running a scenario script with arguments."""

    def __init__(self, row, contender, script, args, repeats):
        self.row = row
        self.contender = contender
        self.script = script
        self.args = args
        self.repeats = repeats
        self.results = []
        self.group = None  # jobs of one group run together, in one process per repeat


def run_jobs(scenario, jobs, metrics):
    """Run every job ``repeats`` times, interleaved; print each run to stderr."""
    most = max(j.repeats for j in jobs)
    for rep in range(most):
        done = set()
        for job in jobs:
            c = job.contender
            if rep >= job.repeats or id(job) in done:
                continue
            if c.unavailable:
                if rep == 0:
                    job.results.append({"na": c.unavailable})
                continue
            if job.group is None:
                runs = [(job, run_script(job.script, c.python, ["--contender", c.spec] + job.args))]
            else:
                group = [j for j in jobs if j.group == job.group and not j.contender.unavailable]
                res = run_script(job.script, c.python,
                                 ["--contender", ",".join(j.contender.spec for j in group)] + job.args)
                runs = [(j, res["contenders"].get(j.contender.spec, {"error": "no result"})
                         if "contenders" in res else res) for j in group]
            for j, res in runs:
                done.add(id(j))
                log_run(scenario, j, rep, res, metrics)


def log_run(scenario, job, rep, res, metrics):
    """Record one run's result for ``job`` and print it to stderr."""
    job.results.append(res)
    if "error" in res:
        shown = "ERROR " + res["error"]
    elif "na" in res:
        shown = "n/a " + res["na"]
    else:
        shown = "  ".join("%s=%s" % (m.key, m.fmt(res.get(m.key))) for m in metrics)
    log("  %-9s %-34s run %d/%d  %s" % (scenario, job.row, rep + 1, job.repeats, shown))


# -- tables -------------------------------------------------------------------------------------


class Metric:
    def __init__(self, key, title, higher_better, fmt):
        self.key = key
        self.title = title
        self.higher_better = higher_better
        self.fmt = fmt

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
        head += [m.title] + [names[r] for r in ratio_refs]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for job in jobs:
        status = cell_status(job)
        row = [job.row]
        for m in metrics:
            if status:
                row += [status if m is metrics[0] else ""] + [""] * len(ratio_refs)
                continue
            v = m.best(job.results)
            row.append(m.fmt(v))
            for ref in ratio_refs:
                rv = refs.get(ref, {}).get(m.key)
                row.append(f_ratio(v / rv) if v is not None and rv else "-")
        lines.append("| " + " | ".join(row) + " |")
    for n in notes:
        lines.append("")
        lines.append(n)
    out("\n".join(lines))


def bests(jobs, metrics):
    """{contender key: {metric key: best value}} of the plain rows (refs and targets)."""
    out = {}
    for job in jobs:
        out.setdefault(job.contender.key, {})
        for m in metrics:
            v = m.best(job.results)
            if v is not None:
                out[job.contender.key][m.key] = v
    return out


# -- scenarios --------------------------------------------------------------------------------


FLOOR_NOTE = ("floor: not an event loop but its lower bound: `select.epoll.poll` and a dict of "
              "callbacks, nothing else (no error handling, no threads, no signals, no watcher that "
              "stops), running the same callbacks. What it reaches is the system calls' and the "
              "scenario's own cost on this machine: no Python loop can go faster. The selectors "
              "floor is the same loop waiting in `selectors.DefaultSelector().select()`: the bound "
              "of any loop on the `selectors` module, asyncio's and rel_core's portable registrar "
              "included.")


DEZ_FLOOR_NOTE = ("floor: dez's same sample on `bench/scenarios/floor_rel/rel`, not an engine but "
                  "the yardstick: a bare `select.epoll`, a dict of fds and a heap of timers, with just "
                  "the part of rel's API that dez calls and the return-value rules dez relies on, "
                  "nothing else (no threads, no exceptions handled, no closed fds found). Its rate is "
                  "dez's own cost and the system calls' on this machine at that moment: the most any "
                  "engine with rel's API could reach in this run.")


def scenario_jobs(name, cs, names, default, s):
    """(jobs, metrics, title, notes) of one scenario."""
    R = s["repeats"]
    ours_all = [cs[n] for n in names if n in cs and n not in OWN_TABLE]
    ours_main = [cs[n] for n in names if n in cs and (n == PORTABLE or n == default)]
    base = [cs["asyncio"], cs["rel0"]]

    def jobs_for(contenders, script, args, rel0_args=None, repeats=R):
        return [Job(c.label, c, script, rel0_args if (rel0_args is not None and c.key == "rel0") else args,
                    repeats) for c in contenders]

    floor = [cs["floor"], cs["floor:selectors"]]

    def interleaved(jobs):
        """Every job but rel 0.4.9.27's (another interpreter) runs in one process."""
        for job in jobs:
            if job.contender.key != "rel0":
                job.group = "interleaved"
        return jobs

    if name == "pingpong":
        m = [Metric("rate", "round trips/s", True, f_rate)]
        title = "Socket ping-pong over a socketpair, 1-byte messages (round trips/s, higher is better)"
        jobs = interleaved(jobs_for(base + ours_all + floor, "pingpong.py", opts(s["pingpong"]),
                                    repeats=s["pingpong_repeats"]))
        return (jobs, m, title,
                ("Every row but rel %s's runs in one process, each with its own socketpair and loop, "
                 "in turns of 50 ms until each has run %.1f s, so that they meet the same moments of "
                 "the machine; the best of %d such runs. rel %s: a process of its own (another "
                 "interpreter), %.1f s." % (REL0_VERSION, s["pingpong"]["duration"], s["pingpong_repeats"],
                                           REL0_VERSION, s["pingpong"]["duration"]), FLOOR_NOTE))
    if name == "timers":
        m = [Metric("p50_us", "lateness p50 µs", False, f_us),
             Metric("p99_us", "lateness p99 µs", False, f_us)]
        t = s["timers"]
        title = ("Timer lateness, %d timers due over %.1f s (µs after the deadline, lower is better)"
                 % (t["count"], t["spread"]))
        return jobs_for(base + ours_main, "timers.py", opts(t)), m, title, ()
    if name == "wakeup":
        m = [Metric("p50_us", "latency p50 µs", False, f_us), Metric("p99_us", "latency p99 µs", False, f_us)]
        title = ("Wake-up latency: timer callback writes a byte -> read callback runs "
                 "(%d samples; µs, lower is better)" % s["wakeup"]["count"])
        jobs = interleaved(jobs_for(base + ours_main, "wakeup.py", opts(s["wakeup"]), opts(s["wakeup_rel0"]),
                                    repeats=s["wakeup_repeats"]))
        return (jobs, m, title,
                ("asyncio and rel_core: one process, each with its own socketpair and loop, taking turns "
                 "of 20 samples (the first 3 of a turn uncounted), so that they meet the same moments "
                 "of the machine. rel %s: a process "
                 "of its own (another interpreter), at most %d samples or %.0f s."
                 % (REL0_VERSION, s["wakeup_rel0"]["count"], s["wakeup_rel0"]["max-seconds"]),))
    if name == "idle":
        m = [Metric("cpu_ms", "CPU ms", False, f_ms), Metric("wakeups", "wake-ups", False, f_int)]
        title = ("CPU used while idle for %.0f s: one read watcher on a silent socket (lower is better)"
                 % s["idle"]["seconds"])
        notes = ("wake-ups: voluntary context switches (getrusage ru_nvcsw), i.e. how often the "
                 "process went to sleep and was woken.",)
        jobs = jobs_for(base + ours_main, "idle.py", opts(s["idle"]), repeats=s["idle_repeats"])
        return jobs, m, title, notes
    if name == "manyfds":
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
        return jobs_for(base + ours_all + floor, "manyfds.py", opts(t)), m, title, notes
    if name == "threadcalls":
        t = s["threadcalls"]
        m = [Metric("max_gap_ms", "10 ms timer: longest gap ms", False, f_ms),
             Metric("ticks", "ticks", True, f_int),
             Metric("max_queue", "longest queue", False, f_int),
             Metric("calls_per_s", "calls/s", True, f_rate)]
        title = ("Calls from other threads: %d threads arm and delete a write watcher for %.0f s beside "
                 "a 10 ms timer (issue 25)" % (t["threads"], t["seconds"]))
        ours = ours_all + ([cs["rel:asyncio"]] if "rel:asyncio" in cs else [])
        jobs = jobs_for([cs["asyncio"]] + ours, "threadcalls.py", opts(t))
        d = cs.get(default)
        if d is not None:
            spin = Contender("spin", "for scale: threads spinning, calling nothing (%s)" % default,
                             d.python, d.spec, d.unavailable)
            jobs.append(Job(spin.label, spin, "threadcalls.py", opts(t) + ["--spin"], R))
        notes = ("asyncio: the same calls through `call_soon_threadsafe(add_writer)` and "
                 "`call_soon_threadsafe(remove_writer)`; its queue is its ready queue. rel: the "
                 "registrar's queue of calls from other threads (bounded at 4,096; an arm then a "
                 "delete folds into one call). The last row's threads call nothing: the gaps any "
                 "thread gets beside two that spin (the GIL's switch interval and the machine's "
                 "load), the best a loop can do here.",)
        return jobs, m, title, notes
    raise ValueError(name)


def run_dezhttp(cs, default, s, summary, dez_why):
    """dez's hello-world served on rel 0.4.9.27 and on this project: requests/s and p99 latency."""
    d = s["dezhttp"]
    counts = [int(n) for n in d["connections"].split(",")]
    m = []
    for n in counts:
        conns = "%d connection%s" % (n, "" if n == 1 else "s")
        m += [Metric("rate_%d" % n, "req/s, %s" % conns, True, f_rate),
              Metric("p99_ms_%d" % n, "p99 ms, %s" % conns, False, f_ms),
              Metric("cpu_us_%d" % n, "server CPU µs/req, %s" % conns, False, f_us)]
    tool = "wrk" if shutil.which("wrk") else "python"
    jobs = []
    for key, label in (("rel0", "dez on rel %s (epoll)" % REL0_VERSION),
                       (default, "dez on this project: rel_core %s" % (default,)),
                       ("floor", "floor: dez on a bare epoll loop with rel's API")):
        c = cs.get(key) if key else None
        if c is None:
            continue
        # The floor's server is the bench venv's interpreter, as ours is: dez is there or not alike.
        why = c.unavailable or dez_why.get(default if key == "floor" else key)
        if why:  # a copy: the contender stays available to the other scenarios
            c = Contender(c.key, c.label, c.python, c.spec, why)
        jobs.append(Job(label, c, "dezhttp.py", opts(d) + ["--tool", tool], s["dezhttp_repeats"]))
    run_jobs("dezhttp", jobs, m)
    b = bests(jobs, m)
    load = ("wrk %s, 1 thread" % wrk_version() if tool == "wrk" else
            "no wrk on PATH: a Python client (one selectors loop)")
    table("dez %s's HTTP hello-world sample (GET /index, keep-alive), served on rel %s and on this "
          "project (requests/s higher is better, p99 latency lower is better)"
          % (DEZ.split("==")[1], REL0_VERSION),
          jobs, m, {"rel0": b.get("rel0", {})},
          ("Server: dez's own `dez_test httpd_hello_world -e epoll -s` in a process of the row's "
           "interpreter, unchanged. Load: %s, %s s per connection count, `Connection: keep-alive` "
           "(dez closes a connection after its response otherwise); every response checked "
           "(a non-2xx or a socket error makes the run an error). Server CPU µs/req: the server "
           "process's CPU time (/proc/PID/stat) over the requests answered, the measure that moves "
           "least with the machine's load. Best of %d runs."
           % (load, f_ms(d["duration"]).rstrip("0").rstrip("."), s["dezhttp_repeats"]),
           DEZ_FLOOR_NOTE),
          ratio_refs=("rel0",))
    ours = b.get(default, {}) if default else {}
    r0 = b.get("rel0", {})
    floor = b.get("floor", {})
    for n, need in ((50, 2.0), (1, 20.0)):
        if n in counts:
            conns = "%d connection%s" % (n, "" if n == 1 else "s")
            summary.append(("10", "dez hello world, %s: >= %gx rel %s's requests/s"
                            % (conns, need, REL0_VERSION),
                            *ratio_check(ours.get("rate_%d" % n), r0.get("rate_%d" % n), need, "req/s")))
            if floor.get("rate_%d" % n) and r0.get("rate_%d" % n):
                summary.append(("10", "(for scale) dez hello world, %s: the floor, no engine at all, "
                                "vs rel %s" % (conns, REL0_VERSION), "info",
                                ratio_check(floor["rate_%d" % n], r0["rate_%d" % n], need, "req/s")[1]))
    return {j.row: j.results for j in jobs}


def wrk_version():
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "?"
    words = (out.stdout + out.stderr).split()
    return words[1] if len(words) > 1 else "?"


def run_buffwrite(cs, default, s, summary):
    """The buffwrite table (throughput) and the CPU-per-MiB table of this project."""
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
    return {j.row: j.results for j in jobs + size_jobs}


def run_redisbus(cs, default, s, summary):
    """rel_util's bus between two processes over a real redis-server, beside redis-py's own
    blocking PubSub.listen() loop (scenarios/redisbus.py starts and stops the server)."""
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
    return {j.row: j.results for j in jobs}


def run_aioloop(cs, default, s, summary):
    """rel on asyncio's loops (the ``asyncio`` registrar, on asyncio's own loop and on uvloop's),
    beside those loops' own add_reader API and rel's default registrar: ping-pong and wake-up
    latency side by side in one process per run, then idle CPU and wake-ups."""
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

    def interleaved(script, args):
        jobs = [Job(c.label, c, script, args, R) for c in row]
        for j in jobs:
            j.group = "aioloop"
        return jobs

    pp_m = [Metric("rate", "round trips/s", True, f_rate)]
    pp = interleaved("pingpong.py", opts(s["pingpong"]))
    run_jobs("aioloop", pp, pp_m)
    wk_m = [Metric("p50_us", "latency p50 µs", False, f_us), Metric("p99_us", "latency p99 µs", False, f_us)]
    wk = interleaved("wakeup.py", opts(s["wakeup"]))
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


# -- targets ----------------------------------------------------------------------------------


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


def targets(name, b, names, default, summary):
    """Append the targets of scenario ``name`` (best values ``b``) to summary."""
    ours = [n for n in (PORTABLE, default) if n in names and n is not None]
    ours = list(dict.fromkeys(ours))
    if name == "threadcalls":
        rows = [n for n in names if n in b and n not in OWN_TABLE] + [n for n in ("rel:asyncio",) if n in b]
        for n in rows:
            gap, queue = b[n].get("max_gap_ms"), b[n].get("max_queue")
            summary.append(("25", "thread churn, %s: timer gap < 100 ms, queue <= 4,096" % n,
                            None if gap is None or queue is None else gap < 100 and queue <= 4096,
                            "n/a" if gap is None else "%.1f ms, %d queued" % (gap, queue or 0)))
    if name == "pingpong":
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
    elif name == "timers":
        for n in ours:
            summary.append(("2", "timer lateness p99 (%s) <= asyncio's" % n,
                            *no_worse(b.get(n, {}).get("p99_us"), b.get("asyncio", {}).get("p99_us"),
                                      lambda v: f_us(v) + " µs")))
    elif name == "wakeup":
        for n in ours:
            for q in ("p50", "p99"):
                summary.append(("2", "wake-up latency %s (%s) <= asyncio's" % (q, n),
                                *no_worse(b.get(n, {}).get(q + "_us"), b.get("asyncio", {}).get(q + "_us"),
                                          lambda v: f_us(v) + " µs")))
    elif name == "idle":
        for n in ours:
            summary.append(("2", "idle CPU (%s) <= asyncio's (+1 ms tolerance over the run)" % n,
                            *no_worse(b.get(n, {}).get("cpu_ms"), b.get("asyncio", {}).get("cpu_ms"),
                                      lambda v: "%.2f ms" % v, slack=1.0)))
    elif name == "manyfds":
        r0 = b.get("rel0", {})
        for key, what in (("batch_rate", "rounds of many ready fds"),
                          ("single_rate", "one ready fd at a time")):
            summary.append(("3", "10k fds, %s: epoll >= 100x rel %s" % (what, REL0_VERSION),
                            *ratio_check(b.get("epoll", {}).get(key), r0.get(key), 100.0, "events/s")))
            floor = b.get("floor", {}).get(key)
            if floor and r0.get(key):
                summary.append(("3", "(for scale) 10k fds, %s: the floor, no engine at all, vs rel %s"
                                % (what, REL0_VERSION), "info",
                                ratio_check(floor, r0.get(key), 100.0, "events/s")[1]))


def print_summary(summary):
    out("\n### Targets (issues 2, 3, 4, 10, 11, 12, 25)\n")
    out("| issue | target | result | measured |")
    out("|---|---|---|---|")
    for issue, what, ok, detail in summary:
        verdict = ok if isinstance(ok, str) else "n/a" if ok is None else ("PASS" if ok else "FAIL")
        out("| #%s | %s | %s | %s |" % (issue, what, verdict, detail))
    out("\n(No assertion: a missed target is reported here, never as a failing exit status.)")


def print_errors(raw):
    """The stderr tail of every run that failed (an engine crash shows here)."""
    seen = []
    for scenario, rows in raw.items():
        for row, results in rows.items():
            for r in results:
                if "error" in r and (row, r["error"]) not in [(x[1], x[2]) for x in seen]:
                    seen.append((scenario, row, r["error"], r.get("stderr", "")))
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


# -- main -------------------------------------------------------------------------------------


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
                 pingpong_repeats=args.repeats, wakeup_repeats=args.repeats)

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

    summary = []
    raw = {}
    try:
        for name in selected:
            log("bench: %s ..." % name)
            if name == "buffwrite":
                raw[name] = run_buffwrite(cs, default, s, summary)
                continue
            if name == "redisbus":
                raw[name] = run_redisbus(cs, default, s, summary)
                continue
            if name == "dezhttp":
                raw[name] = run_dezhttp(cs, default, s, summary, dez_why)
                continue
            if name == "aioloop":
                raw[name] = run_aioloop(cs, default, s, summary)
                continue
            jobs, metrics, title, notes = scenario_jobs(name, cs, names, default, s)
            run_jobs(name, jobs, metrics)
            b = bests(jobs, metrics)
            table(title, jobs, metrics, {"asyncio": b.get("asyncio", {}), "rel0": b.get("rel0", {})}, notes)
            targets(name, b, available, default, summary)
            raw[name] = {j.row: j.results for j in jobs}
        print_summary(summary)
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
