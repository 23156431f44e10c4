"""The test command cosmic-ray runs for each mutant (see run.py).

Run from the root of a worker's copy, with the module's short name. It finds
the lines cosmic-ray changed (the copy's module against the pristine one),
and runs only the tests that executed those lines (from the coverage map
run.py made before the session), stopping at the first failure:

* a line run at import time only (a constant, a ``def``, a decorator) may
  change anything: the module's whole selection runs;
* a line no test ever ran cannot be killed: nothing runs, the mutant
  survives (and is listed for a test to be written).

With ``--others`` (run.py's second run of a survivor listed ``outside:``):
the same tests, every parameter of them, on the suite's other registrars
(run.OTHER_REGISTRARS).

Environment: REL_MUTATE_WORK (run.py's work directory: ``coverage.json``,
``pristine/``).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from typing import List, Set

from run import MODULES, OTHER_REGISTRARS, PYTEST, SUITES  # beside this file


def changed_lines(pristine: str, mutated: str) -> Set[int]:
    """Line numbers (of the pristine file) that differ in the mutated one."""
    with open(pristine, encoding="utf-8") as f:
        old = f.read().splitlines()
    with open(mutated, encoding="utf-8") as f:
        new = f.read().splitlines()
    lines: Set[int] = set()
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            lines.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return lines


def main() -> int:
    name = sys.argv[1]
    others = sys.argv[2:] == ["--others"]
    work = os.environ["REL_MUTATE_WORK"]
    module_path, suite = MODULES[name]
    with open(os.path.join(work, "coverage.json"), encoding="utf-8") as f:
        by_line = json.load(f)[name]  # {"line": [node ids]; "" for import time}
    lines = changed_lines(os.path.join(work, "pristine", module_path), module_path)
    tests: List[str] = []
    full = False
    for line in sorted(lines):
        # A continuation line of a statement has no data of its own: take the
        # statement's first line, the nearest one above with data.
        probe = line
        while str(probe) not in by_line and probe > 1 and line - probe < 10:
            probe -= 1
        for node in by_line.get(str(probe), []):
            if node == "":
                full = True
            elif node not in tests:
                tests.append(node)
    env = None
    if others:
        # The map's node ids carry the default registrar as a parameter
        # ("test_x[selectors]"): without it, pytest runs them on each one.
        tests = list(dict.fromkeys(t.split("[", 1)[0] for t in tests))
        env = dict(os.environ, **OTHER_REGISTRARS[suite])
    if full:
        args = [SUITES[suite][0]]
    elif tests:
        args = tests
    else:
        print("no test runs the changed lines %s" % (sorted(lines),))
        return 0
    cmd = PYTEST.split() + args
    cmd[0] = sys.executable
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
