"""Mutation testing of rel's engine with cosmic-ray (``nox -s mutate``).

Each module in MODULES gets its own cosmic-ray session: every mutant (one
small change to the module, e.g. ``<`` made ``<=``, a ``not`` added, a
``break`` made ``continue``) is applied in turn and the module's test
selection is run against it; a mutant the tests do not fail "survived".

A mutant runs only the tests that execute the lines it changed (pick.py,
from a coverage map made first), and stops at the first failure. The tests
are mostly waiting on sockets and timers, not computing, so the mutants run
in parallel on several cosmic-ray HTTP workers, each in its own copy of the
sources (the mutation is written to the worker's copy, which its PYTHONPATH
puts ahead of the installed packages).

A survivor that no test can kill (the change makes no observable
difference) is listed in ``equivalent.md`` beside this file: one line per
mutant, ``module | operator | source line | reason``. The score counts
those apart: ``killed / (mutants - listed equivalents)``.

A survivor listed as ``outside:`` (killed only on registrars other than the
suite's default) gets a second run: the tests its lines select, every
parameter of them, on the suite's other registrars (OTHER_REGISTRARS, from
rel-registrars and rel-core's asyncio). Killed there, it counts as killed
(column ``elsewhere``); surviving there too, it counts against the score.

Usage: ``python tests/mutation/run.py [--workers N] [--only registrar,bus]
[--keep DIR]``. Prints a table per module and every unlisted survivor (with
its diff), writes ``report.json`` in the work directory, and exits 1 when
the whole set scores under TARGET or any survivor is unlisted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TARGET = 0.90

# The test run for a mutant: -x (killed at the first failing test), each
# test bounded so that a mutant that hangs the loop is killed in seconds
# (pytest-timeout's thread method dumps every thread and exits).
PYTEST = "python -m pytest -x -q -p no:cacheprovider --timeout=10 -o timeout_method=thread"

#: {suite: (its tests, the package whose coverage maps lines to tests)}
SUITES: Dict[str, Tuple[str, str]] = {
    "core": ("packages/rel-core/tests", "rel_core"),
    "util": ("packages/rel-util/tests", "rel_util"),
}

#: {suite: the environment that runs its tests on the registrars other than
#: its default} (conftest.py of rel-core: REL_TEST_REGISTRARS). A suite not
#: here has no second run.
OTHER_REGISTRARS: Dict[str, Dict[str, str]] = {
    "core": {"REL_TEST_REGISTRARS": "all", "REL_TEST_SKIP_REGISTRARS": "selectors"},
}

#: {short name: (path from the repo root, suite)}. rel-core's suite runs on
#: its default registrar (selectors) only. A new engine module is one more
#: line; one not in the tree (yet) is skipped.
MODULES: Dict[str, Tuple[str, str]] = {
    "registrar": ("packages/rel-core/src/rel_core/registrar.py", "core"),
    "iotable": ("packages/rel-core/src/rel_core/iotable.py", "core"),
    "timertable": ("packages/rel-core/src/rel_core/timertable.py", "core"),
    "signaltable": ("packages/rel-core/src/rel_core/signaltable.py", "core"),
    "tlscarry": ("packages/rel-core/src/rel_core/tlscarry.py", "core"),
    "switching": ("packages/rel-core/src/rel_core/switching.py", "core"),
    "calls": ("packages/rel-core/src/rel_core/calls.py", "core"),
    "signals": ("packages/rel-core/src/rel_core/signals.py", "core"),
    "listener": ("packages/rel-core/src/rel_core/listener.py", "core"),
    "timerheap": ("packages/rel-core/src/rel_core/timerheap.py", "core"),
    "wakeup": ("packages/rel-core/src/rel_core/wakeup.py", "core"),
    "selector": ("packages/rel-core/src/rel_core/selector.py", "core"),
    "buff": ("packages/rel-util/src/rel_util/buff.py", "util"),
    "bus": ("packages/rel-util/src/rel_util/bus.py", "util"),
}

# Operators left out of every session, with why.
EXCLUDED_OPERATORS = [
    # Every ``%`` in these modules formats a message (checked: none is
    # arithmetic); its ten replacements test the wording of log lines.
    r"core/ReplaceBinaryOperator_Mod_.*",
]

# What a copy needs: the sources that are mutated, and the tests.
COPIED = ["packages/rel-core", "packages/rel-util", "tests/mutation"]
SRC_DIRS = ["packages/rel-core/src", "packages/rel-util/src"]
PER_MUTANT_TIMEOUT = 180.0


def load_equivalents(path: str) -> Dict[Tuple[str, str, str], str]:
    """``{(module, operator, stripped source line): reason}`` from equivalent.md."""
    found: Dict[Tuple[str, str, str], str] = {}
    if not os.path.exists(path):
        return found
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("| ") or line.startswith("| module") or line.startswith("|--"):
                continue
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if len(cells) != 4:
                continue
            module, operator, code, reason = cells
            found[(module, operator, code.strip("`").replace("\\|", "|"))] = reason
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_copy(dest: str) -> None:
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.egg-info", ".pytest_cache")
    for rel in COPIED:
        shutil.copytree(os.path.join(ROOT, rel), os.path.join(dest, rel), ignore=ignore)


def start_workers(work: str, n: int, fresh: bool = True) -> Tuple[List[subprocess.Popen], List[str]]:
    procs, urls = [], []
    for i in range(n):
        copy = os.path.join(work, "copy%d" % i)
        if fresh:
            make_copy(copy)
        port = free_port()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(os.path.join(copy, d) for d in SRC_DIRS)
        env["REL_MUTATE_WORK"] = work
        log = open(os.path.join(work, "worker%d.log" % i), "wb")
        procs.append(subprocess.Popen(
            ["cosmic-ray", "http-worker", "--port", str(port)],
            cwd=copy, env=env, stdout=log, stderr=subprocess.STDOUT,
        ))
        urls.append("http://127.0.0.1:%d" % port)
    for url in urls:
        port = int(url.rsplit(":", 1)[1])
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("worker on %s did not start" % (url,)) from None
                time.sleep(0.2)
    return procs, urls


def coverage_map(work: str, names: List[str]) -> None:
    """Run each suite once under coverage with per-test contexts, and write
    ``coverage.json``: {module: {line: [test node id, or "" for import time]}}."""
    import coverage  # pytest-cov's dependency, in the mutate session

    out: Dict[str, Dict[str, List[str]]] = {}
    for suite in sorted({MODULES[n][1] for n in names}):
        tests, package = SUITES[suite]
        data_file = os.path.join(work, ".coverage-" + suite)
        env = dict(os.environ, COVERAGE_FILE=data_file)
        cmd = [a.replace("--timeout=10", "--timeout=60") for a in PYTEST.split() if a != "-x"]
        cmd[0] = sys.executable
        cmd += ["--cov=" + package, "--cov-context=test", "--cov-report=", tests]
        started = time.monotonic()
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        print("coverage map of %s: %.0f s" % (tests, time.monotonic() - started), flush=True)
        data = coverage.CoverageData(data_file)
        data.read()
        rootdir = os.path.dirname(tests)  # pytest's rootdir: the package (its pyproject.toml)
        for name in names:
            module_path, s = MODULES[name]
            if s != suite:
                continue
            contexts = data.contexts_by_lineno(os.path.join(ROOT, module_path))
            out[name] = {
                str(line): sorted({"" if not c else rootdir + "/" + c.rsplit("|", 1)[0] for c in ctxs})
                for line, ctxs in contexts.items()
            }
    with open(os.path.join(work, "coverage.json"), "w", encoding="utf-8") as f:
        json.dump(out, f)


def write_config(path: str, module_path: str, command: str, urls: List[str]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write("[cosmic-ray]\n")
        f.write("module-path = %s\n" % json.dumps(module_path))
        f.write("timeout = %s\n" % PER_MUTANT_TIMEOUT)
        f.write("excluded-modules = []\n")
        f.write("test-command = %s\n" % json.dumps(command))
        f.write("[cosmic-ray.distributor]\nname = \"http\"\n")
        f.write("[cosmic-ray.distributor.http]\nworker-urls = %s\n" % json.dumps(urls))
        f.write("[cosmic-ray.filters.operators-filter]\nexclude-operators = %s\n"
                % json.dumps(EXCLUDED_OPERATORS))


def run_module(work: str, name: str, urls: List[str], retest: bool = False) -> List[dict]:
    """Run ``name``'s session (or, with ``retest``, run its survivors again),
    then the second run of its ``outside:`` survivors."""
    module_path, suite = MODULES[name]
    command = "%s tests/mutation/pick.py %s" % (sys.executable, name)
    config = os.path.join(work, name + ".toml")
    session = os.path.join(work, name + ".sqlite")
    write_config(config, module_path, command, urls)
    if retest:
        # cosmic-ray exec runs the jobs that have no result: forget the survivors'.
        forget(session, [r["job_id"] for r in collect(work, name) if r["outcome"] == "survived"])
    else:
        subprocess.run(["cosmic-ray", "init", config, session], check=True, cwd=ROOT)
        subprocess.run(["cr-filter-operators", session, config], check=True, cwd=ROOT)
    started = time.monotonic()
    subprocess.run(["cosmic-ray", "exec", config, session], check=True, cwd=ROOT)
    print("%s: %.0f s" % (name, time.monotonic() - started), flush=True)
    results = collect(work, name)
    if suite not in OTHER_REGISTRARS:
        return results
    equivalents = load_equivalents(os.path.join(HERE, "equivalent.md"))
    outside = [r for r in results if r["outcome"] == "survived"
               and equivalents.get((name, r["operator"], r["code"]), "").startswith("outside:")]
    if not outside:
        return results
    write_config(config, module_path, command + " --others", urls)
    forget(session, [r["job_id"] for r in outside])
    started = time.monotonic()
    subprocess.run(["cosmic-ray", "exec", config, session], check=True, cwd=ROOT)
    print("%s, %d outside survivors on the other registrars: %.0f s"
          % (name, len(outside), time.monotonic() - started), flush=True)
    second = os.path.join(work, name + "-elsewhere.json")
    earlier: List[str] = []  # (a --retest keeps the earlier second run's kills)
    if os.path.exists(second):
        with open(second, encoding="utf-8") as f:
            earlier = json.load(f)
    with open(second, "w", encoding="utf-8") as f:
        json.dump(sorted(set(earlier) | {r["job_id"] for r in outside}), f)
    return collect(work, name)


def forget(session: str, job_ids: List[str]) -> None:
    """Drop these jobs' results, so that the next ``cosmic-ray exec`` runs them."""
    db = sqlite3.connect(session)
    with db:
        db.executemany("DELETE FROM work_results WHERE job_id = ?", [(j,) for j in job_ids])
    db.close()


def collect(work: str, name: str) -> List[dict]:
    """The results of ``name``'s session, one dict per mutant that ran."""
    module_path, _suite = MODULES[name]
    session = os.path.join(work, name + ".sqlite")
    dump = subprocess.run(["cosmic-ray", "dump", session], check=True, cwd=ROOT,
                          capture_output=True, text=True).stdout
    with open(os.path.join(work, "pristine", module_path), encoding="utf-8") as f:
        source = f.read().splitlines()
    second: List[str] = []  # the jobs of the second run (run_module)
    if os.path.exists(os.path.join(work, name + "-elsewhere.json")):
        with open(os.path.join(work, name + "-elsewhere.json"), encoding="utf-8") as f:
            second = json.load(f)
    results = []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None or result.get("worker_outcome") == "skipped":
            continue
        spec = item["mutations"][0]
        lineno = spec["start_pos"][0]
        results.append({
            "job_id": item["job_id"],
            "module": name,
            "operator": spec["operator_name"],
            "occurrence": spec["occurrence"],
            "line": lineno,
            "code": source[lineno - 1].strip(),
            "outcome": result.get("test_outcome") or result.get("worker_outcome"),
            "elsewhere": item["job_id"] in second,
            "diff": result.get("diff") or "",
        })
    print("%s: %d mutants" % (name, len(results)), flush=True)
    return results


def summarize(results: List[dict], equivalents: Dict[Tuple[str, str, str], str]) -> bool:
    rows = []
    unlisted = []
    tot = {"mutants": 0, "killed": 0, "elsewhere": 0, "equivalent": 0, "outside": 0, "survived": 0,
           "incompetent": 0}
    for name in MODULES:
        mine = [r for r in results if r["module"] == name]
        if not mine:
            continue
        c = {"mutants": len(mine), "killed": 0, "elsewhere": 0, "equivalent": 0, "outside": 0,
             "survived": 0, "incompetent": 0}
        for r in mine:
            if r["outcome"] == "killed":
                c["killed"] += 1
                c["elsewhere"] += r["elsewhere"]
            elif r["outcome"] == "survived":
                reason = equivalents.get((name, r["operator"], r["code"]))
                if reason is not None and reason.startswith("outside:"):
                    c["outside"] += 1
                elif reason is not None:
                    c["equivalent"] += 1
                else:
                    c["survived"] += 1
                    unlisted.append(r)
            else:  # incompetent (the mutant does not even import) or a worker failure
                c["incompetent"] += 1
        for k in tot:
            tot[k] += c[k]
        rows.append((name, c))
    rows.append(("TOTAL", tot))

    def score(c: Dict[str, int]) -> float:
        # "outside" survivors count against the score: they are real, only
        # killed by tests this session does not run.
        judged = c["mutants"] - c["equivalent"] - c["incompetent"]
        return c["killed"] / judged if judged else 1.0

    # killed: all of them, "elsewhere" (the second run's) included; outside:
    # listed so, and not killed by the second run either.
    print("\n%-10s %8s %7s %10s %11s %8s %9s %12s %7s %9s" % (
        "module", "mutants", "killed", "elsewhere", "equivalent", "outside", "survived",
        "incompetent", "score", "raw kill"))
    for name, c in rows:
        raw = c["killed"] / c["mutants"] if c["mutants"] else 1.0
        print("%-10s %8d %7d %10d %11d %8d %9d %12d %6.1f%% %8.1f%%" % (
            name, c["mutants"], c["killed"], c["elsewhere"], c["equivalent"], c["outside"],
            c["survived"], c["incompetent"], 100 * score(c), 100 * raw))
    if unlisted:
        print("\nSurvivors not listed in equivalent.md:")
        for r in unlisted:
            print("\n--- %s line %d %s #%d: %s" % (r["module"], r["line"], r["operator"],
                                                  r["occurrence"], r["code"]))
            print(r["diff"].rstrip())
    return score(tot) >= TARGET and not unlisted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=3, help="parallel workers (default 3)")
    parser.add_argument("--only", default="", help="comma-separated module names: " + ", ".join(MODULES))
    parser.add_argument("--keep", default="", help="work directory to use and keep")
    parser.add_argument("--retest", action="store_true",
                        help="with --keep of an earlier run: run its survivors again against "
                             "today's tests (the mutated sources stay those of that run)")
    parser.add_argument("--report", action="store_true",
                        help="with --keep of an earlier run: summarize it, run nothing")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(MODULES)
    for n in names:
        if n not in MODULES:
            parser.error("unknown module %r (known: %s)" % (n, ", ".join(MODULES)))
    missing = [n for n in names if not os.path.exists(os.path.join(ROOT, MODULES[n][0]))]
    if missing:
        print("not in this tree, skipped:", ", ".join(missing))
    names = [n for n in names if n not in missing]
    # A SIGTERM (a timeout, a killed nox) still stops the workers (finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    work = args.keep or tempfile.mkdtemp(prefix="rel-mutate-")
    os.makedirs(work, exist_ok=True)
    print("work directory:", work, flush=True)
    results: List[dict] = []
    if args.report or args.retest:
        if not args.keep:
            parser.error("--report and --retest need --keep DIR of an earlier run")
        names = [n for n in names if os.path.exists(os.path.join(work, n + ".sqlite"))]
    if args.report:
        for name in names:
            results += collect(work, name)
        return 0 if summarize(results, load_equivalents(os.path.join(HERE, "equivalent.md"))) else 1
    if not args.retest:
        for name in names:
            pristine = os.path.join(work, "pristine", MODULES[name][0])
            os.makedirs(os.path.dirname(pristine), exist_ok=True)
            shutil.copy(os.path.join(ROOT, MODULES[name][0]), pristine)
    else:
        for name in names:
            with open(os.path.join(work, "pristine", MODULES[name][0]), "rb") as f:
                if f.read() != open(os.path.join(ROOT, MODULES[name][0]), "rb").read():
                    parser.error("%s changed since that run: run it afresh" % (MODULES[name][0],))
    coverage_map(work, names)  # today's tests: which of them run which lines
    if args.retest:  # today's tests into the copies, beside that run's sources
        for i in range(args.workers):
            for tests in [t for t, _ in SUITES.values()] + ["tests/mutation"]:
                dest = os.path.join(work, "copy%d" % i, tests)
                shutil.rmtree(dest, ignore_errors=True)
                shutil.copytree(os.path.join(ROOT, tests), dest,
                                ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    procs, urls = start_workers(work, args.workers, fresh=not args.retest)
    try:
        for name in names:
            results += run_module(work, name, urls, retest=args.retest)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    with open(os.path.join(work, "report.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    ok = summarize(results, load_equivalents(os.path.join(HERE, "equivalent.md")))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
