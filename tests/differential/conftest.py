"""The differential suite's fixture: both implementations' surfaces and traces.

``REL_ORIGINAL_PYTHON`` names an interpreter that has rel 0.4.9.27 installed
(and nothing of this project); the interpreter running pytest has this project.
``nox -s differential`` sets both up. Without that variable the tests that need
the original are skipped; the README and list checks still run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import pytest

import compare

ORIGINAL_VERSION = "0.4.9.27"
_summary = {}


@pytest.fixture(scope="session")
def original_python():
    python = os.environ.get("REL_ORIGINAL_PYTHON")
    if not python:
        pytest.skip("REL_ORIGINAL_PYTHON is not set: run `nox -s differential`")
    return os.path.abspath(python) if os.sep in python else python


@pytest.fixture(scope="session")
def results(original_python):
    """{"surface": {"orig": dump, "ours": dump}, "traces": {program: (orig, ours)}}."""
    with tempfile.TemporaryDirectory() as tmp:
        version = compare.run_python(original_python, ["-c", "import rel; print(rel.__version__)"], tmp)
        assert version.stdout.strip() == ORIGINAL_VERSION, (
            "REL_ORIGINAL_PYTHON must have rel %s: %s%s" % (ORIGINAL_VERSION, version.stdout, version.stderr))
        ours = compare.run_python(sys.executable, ["-c", "import rel_core, rel; print(rel.__version__)"], tmp)
        assert ours.returncode == 0 and ours.stdout.strip() != ORIGINAL_VERSION, ours.stderr
        programs = compare.program_names()
        jobs = [(py, name) for name in programs for py in (original_python, sys.executable)]
        # two at a time: the original sleeps between polls, so this halves the wait
        with ThreadPoolExecutor(max_workers=2) as pool:
            surfaces = pool.map(lambda py: compare.dump_surface(py, tmp), [original_python, sys.executable])
            orig_surface, our_surface = list(surfaces)
            traces = list(pool.map(lambda job: compare.run_program(job[0], job[1], tmp), jobs))
    result = {
        "surface": {"orig": orig_surface, "ours": our_surface},
        "traces": {name: (traces[2 * i], traces[2 * i + 1]) for i, name in enumerate(programs)},
    }
    _summary["names"] = compare.surface_size(orig_surface)
    _summary["programs"] = len(programs)
    _summary["lines"] = sum(len(orig) for orig, ours in result["traces"].values())
    return result


@pytest.fixture(scope="session")
def differences(results):
    """Every difference found, {id: what differs}."""
    found = compare.surface_differences(results["surface"]["orig"], results["surface"]["ours"])
    for name, (orig, ours) in results["traces"].items():
        found.update(compare.trace_differences(name, orig, ours))
    _summary["differences"] = len(found)
    return found


def pytest_terminal_summary(terminalreporter):
    if _summary:
        terminalreporter.write_line(
            "differential: %(names)d names and methods of rel 0.4.9.27 compared; %(programs)d programs, "
            "%(lines)d trace lines compared; %(differences)d differences found, each checked against "
            "packages/rel/DEVIATIONS.md" % dict({"differences": 0}, **_summary))
