"""Running the scenario scripts: one subprocess per run, repeats interleaved
across the rows of a table (so a burst of load on the machine hits them all
alike), each run logged on stderr."""

from __future__ import annotations

import json
import os
import subprocess

from .output import log

SCENARIOS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scenarios")
SUBPROCESS_TIMEOUT = 180


def run_script(script, python, args, timeout=SUBPROCESS_TIMEOUT):
    """Run one scenario script; its last stdout line parsed, or {"error": ...}.
    Killed after ``timeout`` seconds (an "error" result then)."""
    cmd = [python, os.path.join(SCENARIOS_DIR, script)] + [str(a) for a in args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=SCENARIOS_DIR)
    except subprocess.TimeoutExpired:
        return {"error": "timed out after %d s" % timeout}
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
    """A settings dict as command-line options: {"count": 3} -> ["--count", 3]."""
    args = []
    for k, v in d.items():
        args += ["--" + k, v]
    return args


class Job:
    """One row of a table: a contender running a scenario script with arguments."""

    def __init__(self, row, contender, script, args, repeats, timeout=SUBPROCESS_TIMEOUT):
        self.row = row
        self.contender = contender
        self.script = script
        self.args = args
        self.repeats = repeats
        self.timeout = timeout  # seconds before a run is killed (an "error" result)
        self.results = []
        self.group = None  # jobs of one group run together, in one process per repeat


def jobs_for(contenders, script, args, repeats, rel0_args=None, timeout=SUBPROCESS_TIMEOUT):
    """A job per contender, rows labelled as the contenders; rel 0.4.9.27 gets
    ``rel0_args`` when given."""
    return [Job(c.label, c, script, rel0_args if (rel0_args is not None and c.key == "rel0") else args,
                repeats, timeout) for c in contenders]


def interleaved(jobs, group="interleaved"):
    """Every job but rel 0.4.9.27's (another interpreter) runs in one process per repeat."""
    for job in jobs:
        if job.contender.key != "rel0":
            job.group = group
    return jobs


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
                runs = [(job, run_script(job.script, c.python, ["--contender", c.spec] + job.args,
                                         job.timeout))]
            else:
                group = [j for j in jobs if j.group == job.group and not j.contender.unavailable]
                res = run_script(job.script, c.python,
                                 ["--contender", ",".join(j.contender.spec for j in group)] + job.args,
                                 job.timeout)
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


def raw(jobs):
    """The raw results of ``jobs`` as ``--json`` writes them: {row: [result, ...]}."""
    return {j.row: j.results for j in jobs}
