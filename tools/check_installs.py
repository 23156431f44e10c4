"""Install the built files each way users do, each in a fresh venv: ``nox -s installs``.

Only the files in dist/ are used (``pip install --no-index --find-links dist``,
with pip's configuration files and PIP_* variables set aside, so no index, mirror
or cache of this machine can stand in for them). One line per check:

1. ``rel-core``: alone it installs nothing else; ``import rel_core as rel`` runs a
   timer and a socket read on the portable registrar, and ``import rel`` fails.
2. ``rtimer``: pulls rel-core and nothing else; ``rtimer --no-sound 1`` exits 0.
3. ``rel``: installs all five; every name and submodule path of SPEC.md imports,
   each name the same object as rel-core's, every registrar entry point is
   there, ``rtimer`` runs and ``pip check`` is clean.
4. ``upgrade``: a venv holding rel 0.4.9.27 from the registry, then
   ``pip install -U --no-index --find-links dist rel``: ``import rel`` gives this
   version and API (and none of 0.4.9.27's files is left in ``rel/``), the
   ``rtimer`` script still runs, ``pip check`` is clean (DESIGN.md, Layout).

Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import spec_names  # noqa: E402
from relpackages import DISTS, ROOT, canonical, project_version  # noqa: E402

OLD_REL = "0.4.9.27"  # the release today's users have
STEP_TIMEOUT = 300  # seconds for one pip run or program
RTIMER_TIMEOUT = 30  # `rtimer 1` takes a second; this only bounds a hang


class CheckFailed(Exception):
    """One check's first failure, as one line (and the step's whole output)."""

    def __init__(self, line: str, output: str = "") -> None:
        super().__init__(line)
        self.output = output


def gist(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for marker in ("Error", "error:", "ERROR", "FAIL", "Traceback"):
        hits = [ln for ln in lines if marker in ln]
        if hits:
            return hits[-1][:300]
    return lines[-1][:300] if lines else "no output"


def child_env(offline: bool, home: Optional[Path] = None) -> Dict[str, str]:
    """The environment of every command: no venv, PYTHONPATH or pip settings of
    ours leak in; offline, pip reads no configuration at all (no index, mirror
    or find-links of this machine), so only --find-links dist can serve."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "__PYVENV_LAUNCHER__")}
    if offline:
        env = {k: v for k, v in env.items() if not k.startswith("PIP_")}
        env["PIP_CONFIG_FILE"] = os.devnull
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    if home is not None:
        env["HOME"] = str(home)
    return env


class Venv:
    """A fresh virtual environment in a temporary folder."""

    def __init__(self, where: Path, dist_dir: Path) -> None:
        self.path = where / "venv"
        self.home = where / "home"
        self.home.mkdir()
        self.dist_dir = dist_dir
        bindir = "Scripts" if os.name == "nt" else "bin"
        self.bin = self.path / bindir
        self.python = self.bin / ("python.exe" if os.name == "nt" else "python")
        self.run([sys.executable, "-m", "venv", str(self.path)], "create a venv")
        self.baseline = self.dists()

    def run(self, cmd: Sequence[str], what: str, offline: bool = True,
            timeout: float = STEP_TIMEOUT, home: Optional[Path] = None) -> str:
        """Run ``cmd``; its output, or CheckFailed naming ``what`` failed and why."""
        try:
            proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, text=True, timeout=timeout,
                                  env=child_env(offline, home), cwd=str(self.home))
        except subprocess.TimeoutExpired:
            raise CheckFailed("%s: still running after %ds" % (what, timeout))
        if proc.returncode != 0:
            raise CheckFailed("%s: exit %d: %s" % (what, proc.returncode, gist(proc.stdout)), proc.stdout)
        return proc.stdout

    def pip_install(self, *args: str) -> str:
        """Install from dist/ only."""
        return self.run([self.python, "-m", "pip", "install", "--no-index", "--find-links",
                         str(self.dist_dir), *args], "pip install %s" % " ".join(args))

    def python_code(self, code: str, what: str) -> str:
        return self.run([self.python, "-c", code], what)

    def dists(self) -> Dict[str, str]:
        """{distribution: version} of everything installed in the venv."""
        out = self.python_code("import json, importlib.metadata as m; print(json.dumps("
                               "{d.metadata['Name']: d.version for d in m.distributions()}))",
                               "list the installed distributions")
        return {canonical(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}

    def expect_dists(self, names: Sequence[str], version: str) -> None:
        """Exactly the baseline (pip, ...) plus ``names`` at ``version`` are installed."""
        want = dict(self.baseline, **{n: version for n in names})
        have = self.dists()
        if have != want:
            extra = sorted("%s %s" % (k, v) for k, v in have.items() if want.get(k) != v)
            lack = sorted("%s %s" % (k, v) for k, v in want.items() if have.get(k) != v)
            raise CheckFailed("installed: unexpected %s; missing %s"
                              % (extra or "nothing", lack or "nothing"))

    def rtimer(self, *args: str) -> float:
        """Run the ``rtimer`` console script for one second; its duration."""
        script = self.bin / ("rtimer.exe" if os.name == "nt" else "rtimer")
        if not script.exists():
            raise CheckFailed("no rtimer script in %s" % self.bin)
        args = args or ("--no-sound", "1")
        start = time.monotonic()
        # in an empty home: no ~/.rtimer media, so no player is started
        self.run([script, *args], "rtimer %s" % " ".join(args), timeout=RTIMER_TIMEOUT, home=self.home)
        return time.monotonic() - start

    def pip_check(self) -> None:
        self.run([self.python, "-m", "pip", "check"], "pip check")


CORE_PROGRAM = r"""
import socket
import rel_core as rel
from rel_core import rel as facade

assert rel.__version__ == VERSION, rel.__version__
fired = []
a, b = socket.socketpair()

def on_timer():
    fired.append("timer")
    a.send(b"ping")
    return False

def on_read():
    fired.append(b.recv(10))
    rel.abort()

def guard():
    fired.append("guard: nothing happened in 10 s")
    rel.abort()

rel.read(b, on_read)
rel.timeout(0.01, on_timer)
rel.timeout(10, guard)
rel.dispatch()
assert fired == ["timer", b"ping"], fired
try:
    import rel as _
except ImportError:
    pass
else:
    raise AssertionError("`import rel` works with rel-core alone")
try:
    rel.initialize(["epoll"], ["strict"])
except ImportError as exc:
    assert "rel-registrars" in str(exc), exc
else:
    raise AssertionError("initialize(['epoll'], ['strict']) worked without rel-registrars")
print("registrar", facade.method)
"""

FULL_PROGRAM = r"""
import importlib, importlib.metadata as md, sys
import rel, rel_core

problems = []
for name in FACADE:
    if not hasattr(rel, name):
        problems.append("rel.%s missing" % name)
for name in CORE:
    if not hasattr(rel_core, name):
        problems.append("rel_core.%s missing" % name)
    elif hasattr(rel, name) and getattr(rel, name) is not getattr(rel_core, name) and name != "__version__":
        problems.append("rel.%s is not rel_core.%s" % (name, name))
for path, names in SUBMODULES.items():
    try:
        module = importlib.import_module(path)
    except Exception as exc:
        problems.append("import %s: %r" % (path, exc))
        continue
    problems += ["%s.%s missing" % (path, n) for n in names if not hasattr(module, n)]
for name, value in EV_VALUES.items():
    if getattr(rel, name, None) != value:
        problems.append("rel.%s != %d" % (name, value))
for dist in DISTS:
    if md.version(dist) != VERSION:
        problems.append("%s is %s" % (dist, md.version(dist)))
if rel.__version__ != VERSION or rel_core.__version__ != VERSION:
    problems.append("rel.__version__ %s, rel_core.__version__ %s" % (rel.__version__, rel_core.__version__))
if sys.version_info >= (3, 10):
    eps = md.entry_points(group="rel.registrars")
else:
    eps = md.entry_points().get("rel.registrars", ())
names = sorted(ep.name for ep in eps)
if names != REGISTRARS:
    problems.append("rel.registrars entry points: %s" % names)
if problems:
    raise SystemExit("FAIL " + "; ".join(problems))
print("ok")
"""

UPGRADED_PROGRAM = r"""
import os
import rel, rel_core
from rel.registrar import EpollRegistrar
from rel.tools import timerCLI
from rel.util import loudListen

assert rel.__version__ == VERSION, "rel.__version__ is %s" % rel.__version__
assert "errors" in rel.report(), "rel.report() lacks 'errors': still 0.4.9.27's API"
assert rel.read is rel_core.read, "rel.read is not rel_core's"
here = sorted(f for f in os.listdir(os.path.dirname(rel.__file__)) if f != "__pycache__")
assert here == FILES, "rel/ holds %s, the new wheel %s" % (here, FILES)
print("ok")
"""


def program(source: str, **names: object) -> str:
    """``source`` with ``names`` bound first (the venv cannot import tools/)."""
    head = "".join("%s = %r\n" % item for item in sorted(names.items()))
    return head + textwrap.dedent(source)


def check_core(venv: Venv, version: str) -> str:
    venv.pip_install("rel-core")
    venv.expect_dists(["rel-core"], version)
    out = venv.python_code(program(CORE_PROGRAM, VERSION=version), "timer and socket read with rel_core")
    return "only rel-core installed; a timer and a socket read ran on the %r registrar" \
        % out.split()[-1]


def check_rtimer(venv: Venv, version: str) -> str:
    venv.pip_install("rtimer")
    venv.expect_dists(["rtimer", "rel-core"], version)
    took = venv.rtimer()
    venv.pip_check()
    return "only rtimer and rel-core installed; `rtimer --no-sound 1` exited 0 in %.1f s" % took


def full_program(version: str) -> str:
    registrars = sorted(n for d in DISTS for n in d.entry_points.get("rel.registrars", {}))
    submodules = {k: list(v) for k, v in spec_names.SUBMODULES.items()}
    return program(FULL_PROGRAM, VERSION=version, FACADE=list(spec_names.FACADE),
                   CORE=list(spec_names.CORE), SUBMODULES=submodules,
                   EV_VALUES=spec_names.EV_VALUES, DISTS=[d.name for d in DISTS], REGISTRARS=registrars)


def check_rel(venv: Venv, version: str) -> str:
    venv.pip_install("rel")
    venv.expect_dists([d.name for d in DISTS], version)
    venv.python_code(full_program(version), "SPEC.md's names and paths")
    took = venv.rtimer()
    venv.pip_check()
    return ("all five installed; %d names, %d submodule paths, the registrars; rtimer ran (%.1f s); "
            "pip check clean" % (len(spec_names.FACADE), len(spec_names.SUBMODULES), took))


def new_rel_files(dist_dir: Path, version: str) -> List[str]:
    """The files the new rel wheel puts in rel/."""
    import zipfile

    with zipfile.ZipFile(dist_dir / ("rel-%s-py3-none-any.whl" % version)) as zf:
        return sorted(n.split("/", 1)[1] for n in zf.namelist() if n.startswith("rel/"))


def check_upgrade(venv: Venv, version: str) -> str:
    venv.run([venv.python, "-m", "pip", "install", "rel==%s" % OLD_REL],
             "pip install rel==%s from the registry" % OLD_REL, offline=False)
    old = venv.python_code("import rel; print(rel.__version__)", "import the old rel").strip()
    if old != OLD_REL:
        raise CheckFailed("the registry's rel==%s says it is %s" % (OLD_REL, old))
    venv.rtimer("1")  # 0.4.9.27's script (no --no-sound; no mplayer in an empty home)
    venv.pip_install("-U", "rel")
    venv.expect_dists([d.name for d in DISTS], version)
    venv.python_code(program(UPGRADED_PROGRAM, VERSION=version, FILES=new_rel_files(venv.dist_dir, version)),
                     "import rel after the upgrade")
    venv.python_code(full_program(version), "SPEC.md's names and paths after the upgrade")
    took = venv.rtimer()
    venv.pip_check()
    return ("rel %s -> %s: import rel gives the new API, no old file left, rtimer ran (%.1f s), "
            "pip check clean" % (OLD_REL, version, took))


CHECKS: Tuple[Tuple[str, Callable[[Venv, str], str]], ...] = (
    ("rel-core", check_core),
    ("rtimer", check_rtimer),
    ("rel", check_rel),
    ("upgrade", check_upgrade),
)


def run_check(check: Callable[[Venv, str], str], dist_dir: Path, version: str) -> Tuple[bool, str, str]:
    """(passed, the one-line result, the failed step's output)."""
    with tempfile.TemporaryDirectory(prefix="rel-installs-") as tmp:
        try:
            return True, check(Venv(Path(tmp), dist_dir), version), ""
        except CheckFailed as exc:
            return False, str(exc), exc.output


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the built files (default: dist/)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print a failed step's whole output")
    parser.add_argument("checks", nargs="*", metavar="CHECK",
                        help="run only these of %s (default: all)" % ", ".join(name for name, _ in CHECKS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.checks) - {name for name, _ in CHECKS})
    if unknown:
        parser.error("unknown check(s): %s" % ", ".join(unknown))
    dist_dir = args.dist.resolve()
    version = project_version()
    wanted = [(name, fn) for name, fn in CHECKS if not args.checks or name in args.checks]
    if not any(dist_dir.glob("*-%s-py3-none-any.whl" % version)):
        print("FAIL  installs: no %s wheel in %s (run nox -s build first)" % (version, dist_dir))
        return 1
    failures = 0
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        futures = [(name, pool.submit(run_check, fn, dist_dir, version)) for name, fn in wanted]
        for name, future in futures:
            ok, line, output = future.result()
            failures += not ok
            print("%-5s %-9s %s" % ("ok" if ok else "FAIL", name, line), flush=True)
            if output and args.verbose:
                print("\n".join("      | " + ln for ln in output.splitlines()))
    print("installs: %d of %d checks passed" % (len(wanted) - failures, len(wanted)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
