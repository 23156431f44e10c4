"""Build the five sdists and wheels into dist/ and check them: ``nox -s build``.

For each package, in upload order, one line per check:

* ``build``: ``python -m build --outdir dist/`` (sdist, then the wheel from it);
* ``twine``: ``twine check --strict`` on both files;
* ``wheel``: it holds exactly its import package as ``src/`` has it (every
  module, ``py.typed``), the modules DESIGN.md names, no tests, no other
  top-level name; its entry points and console script are exactly the expected
  ones and each target exists; ``Requires-Dist`` is exactly its siblings pinned
  ``==`` the version; it is a pure ``py3-none-any`` wheel;
* ``sdist``: it holds ``PKG-INFO``, ``pyproject.toml``, ``README.md`` and the
  sources, and ``python -m build --wheel`` from the unpacked sdist gives the same
  wheel again, byte for byte.

Before building, every version file and sibling pin must agree (``bump.py --check``).
Exit status 0 when everything passed, 1 otherwise (after running every check it can).
"""

from __future__ import annotations

import argparse
import ast
import configparser
import email.parser
import fnmatch
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bump  # noqa: E402
from relpackages import DISTS, ROOT, Dist, canonical, project_version  # noqa: E402

BUILD_TIMEOUT = 600  # seconds for one `python -m build`, isolated env included
TEST_PATTERNS = ("tests/*", "*/tests/*", "test/*", "*/test/*", "*/test_*.py", "*/*_test.py", "*/conftest.py")


class Report:
    """One line per check; remembers whether anything failed."""

    def __init__(self) -> None:
        self.failures = 0

    def ok(self, check: str, dist: str, detail: str = "") -> None:
        print("ok    %-6s %-15s %s" % (check, dist, detail), flush=True)

    def fail(self, check: str, dist: str, problem: str) -> None:
        self.failures += 1
        print("FAIL  %-6s %-15s %s" % (check, dist, problem), flush=True)


def run(cmd: Sequence[str], cwd: Optional[Path] = None, timeout: float = BUILD_TIMEOUT) -> Tuple[int, str]:
    """Run ``cmd``; return its exit status and its output (stdout and stderr)."""
    try:
        proc = subprocess.run(list(cmd), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timed out after %ds: %s" % (timeout, " ".join(cmd))
    return proc.returncode, proc.stdout


def gist(output: str) -> str:
    """The line of a tool's output that says what went wrong, for a one-line report."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for marker in ("Error", "error:", "ERROR", "FAILED", "Traceback"):
        hits = [ln for ln in lines if marker in ln and not ln.startswith("Checking")]
        if hits:
            return hits[-1][:300]
    return lines[-1][:300] if lines else "no output"


def source_files(dist: Dist) -> List[str]:
    """The import package's files, as wheel paths (``rel_core/rel.py``)."""
    src = dist.folder / "src"
    return sorted(p.relative_to(src).as_posix() for p in (src / dist.import_name).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo"))


def top_level_names(source: str) -> set:
    """Names a module defines or imports at top level (what ``module:attr`` may point at)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def module_source(target_module: str, wheels: Dict[str, zipfile.ZipFile]) -> Optional[str]:
    """The source of ``target_module`` from whichever built wheel holds it."""
    base = target_module.replace(".", "/")
    for zf in wheels.values():
        for candidate in (base + ".py", base + "/__init__.py"):
            if candidate in zf.namelist():
                return zf.read(candidate).decode("utf-8")
    return None


def check_wheel(dist: Dist, zf: zipfile.ZipFile, version: str,
                wheels: Dict[str, zipfile.ZipFile]) -> List[str]:
    """Every problem of one wheel, one line each."""
    problems = []
    names = zf.namelist()
    info = "%s-%s.dist-info/" % (dist.stem, version)
    package = [n for n in names if n.startswith(dist.import_name + "/")]
    others = [n for n in names if not n.startswith(info) and n not in package]
    if others:
        problems.append("files outside %s/ and the dist-info: %s" % (dist.import_name, ", ".join(others[:5])))
    expected = source_files(dist)
    missing = sorted(set(expected) - set(package))
    extra = sorted(set(package) - set(expected))
    if missing:
        problems.append("lacks what src/ has: %s" % ", ".join(missing))
    if extra:
        problems.append("holds what src/ has not: %s" % ", ".join(extra))
    absent = [m for m in dist.modules if "%s/%s.py" % (dist.import_name, m) not in names]
    if absent:
        problems.append("lacks module(s) %s" % ", ".join("%s.%s" % (dist.import_name, m) for m in absent))
    if "%s/py.typed" % dist.import_name not in names:
        problems.append("lacks %s/py.typed" % dist.import_name)
    tests = [n for n in names if any(fnmatch.fnmatch(n, p) for p in TEST_PATTERNS)]
    if tests:
        problems.append("holds tests: %s" % ", ".join(tests[:5]))

    if info + "METADATA" not in names:
        return problems + ["no %sMETADATA" % info]
    meta = email.parser.Parser().parsestr(zf.read(info + "METADATA").decode("utf-8"))
    if canonical(meta["Name"] or "") != dist.name or meta["Version"] != version:
        problems.append("METADATA says %s %s, expected %s %s"
                        % (meta["Name"], meta["Version"], dist.name, version))
    requires = sorted(r.replace(" ", "") for r in meta.get_all("Requires-Dist") or [])
    wanted = sorted(["%s==%s" % (s, version) for s in dist.siblings] + list(dist.extras))
    if requires != wanted:
        problems.append("Requires-Dist is %s, expected %s" % (requires or "nothing", wanted or "nothing"))
    if not meta["Requires-Python"]:
        problems.append("no Requires-Python")
    wheel_meta = zf.read(info + "WHEEL").decode("utf-8") if info + "WHEEL" in names else ""
    if "Root-Is-Purelib: true" not in wheel_meta or "Tag: py3-none-any" not in wheel_meta:
        problems.append("not a pure-Python py3-none-any wheel")

    eps: Dict[str, Dict[str, str]] = {}
    if info + "entry_points.txt" in names:
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(zf.read(info + "entry_points.txt").decode("utf-8"))
        eps = {group: {k: v.replace(" ", "") for k, v in parser[group].items()}
               for group in parser.sections()}
    if eps != dist.entry_points:
        problems.append("entry points are %s, expected %s" % (eps or "none", dist.entry_points or "none"))
    for group, entries in eps.items():
        for name, target in entries.items():
            module, _, attr = target.partition(":")
            source = module_source(module, wheels)
            if source is None:
                problems.append("entry point %s %s -> %s: no module %s in the built wheels"
                                % (group, name, target, module))
            elif attr and attr.split(".")[0] not in top_level_names(source):
                problems.append("entry point %s %s -> %s: %s does not define %s"
                                % (group, name, target, module, attr))
    return problems


def check_sdist(dist: Dist, sdist: Path, version: str) -> List[str]:
    """Problems of one sdist's contents (the rebuild is checked apart)."""
    prefix = "%s-%s/" % (dist.stem, version)
    with tarfile.open(sdist) as tf:
        names = set(tf.getnames())
        pkg_info = tf.extractfile(prefix + "PKG-INFO") if prefix + "PKG-INFO" in names else None
        meta = email.parser.Parser().parsestr(pkg_info.read().decode("utf-8")) if pkg_info else None
    problems = []
    needed = ["PKG-INFO", "pyproject.toml", "README.md"] + ["src/" + f for f in source_files(dist)]
    missing = [n for n in needed if prefix + n not in names]
    if missing:
        problems.append("lacks %s" % ", ".join(missing[:8]))
    if meta is not None and (canonical(meta["Name"] or "") != dist.name or meta["Version"] != version):
        problems.append("PKG-INFO says %s %s, expected %s %s"
                        % (meta["Name"], meta["Version"], dist.name, version))
    return problems


def rebuild_from_sdist(sdist: Path, workdir: Path) -> Tuple[Optional[Path], str]:
    """Unpack ``sdist`` and build a wheel from it; (the wheel, or None, and the build output)."""
    with tarfile.open(sdist) as tf:
        if sys.version_info >= (3, 12):
            tf.extractall(workdir, filter="data")
        else:  # pragma: no cover - the data filter is 3.12+ (and some 3.8-3.11 patch releases)
            tf.extractall(workdir)
    tops = [p for p in workdir.iterdir() if p.is_dir()]
    if len(tops) != 1:
        return None, "the sdist does not unpack to one folder"
    out = workdir / "wheel"
    status, output = run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(tops[0])])
    wheels = sorted(out.glob("*.whl")) if status == 0 else []
    return (wheels[0] if len(wheels) == 1 else None), output


def same_wheel(a: Path, b: Path) -> Optional[str]:
    """None if the two wheels hold the same files with the same bytes, else the first difference."""
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        na, nb = sorted(za.namelist()), sorted(zb.namelist())
        if na != nb:
            diff = sorted(set(na) ^ set(nb))
            return "different files: %s" % ", ".join(diff[:5])
        for name in na:
            if za.read(name) != zb.read(name):
                return "%s differs" % name
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="default: dist/ at the repo root")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failed build's whole output")
    # `nox -s installs -- upgrade` runs this first (installs requires build) with the
    # same arguments: the check names meant for check_installs.py are ignored here.
    parser.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    outdir: Path = args.outdir.resolve()
    report = Report()
    for module in ("build", "twine"):
        status, _ = run([sys.executable, "-c", "import %s" % module], timeout=60)
        if status != 0:
            report.fail("setup", "-", "%s is not installed here (pip install build twine)" % module)
            return 1

    try:
        problems = bump.check(ROOT)
    except bump.TreeError as exc:
        problems = [str(exc)]
    for line in problems:
        report.fail("pins", "-", line)
    version = project_version()
    if not problems:
        report.ok("pins", "-", "every _version.py and sibling pin is %s" % version)

    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=len(DISTS)) as pool:
        builds = dict(zip(DISTS, pool.map(
            lambda d: run([sys.executable, "-m", "build", "--outdir", str(outdir), str(d.folder)]), DISTS)))

    built: Dict[Dist, Tuple[Path, Path]] = {}
    for dist in DISTS:
        status, output = builds[dist]
        wheel = outdir / ("%s-%s-py3-none-any.whl" % (dist.stem, version))
        sdist = outdir / ("%s-%s.tar.gz" % (dist.stem, version))
        if status != 0 or not wheel.is_file() or not sdist.is_file():
            found = ", ".join(p.name for p in outdir.glob(dist.stem + "-*")) or "nothing"
            why = (gist(output) if status != 0
                   else "built %s, expected %s and %s" % (found, sdist.name, wheel.name))
            report.fail("build", dist.name, why)
            if args.verbose:
                print("\n".join("      | " + ln for ln in output.splitlines()))
            continue
        built[dist] = (sdist, wheel)
        report.ok("build", dist.name, "%s, %s" % (sdist.name, wheel.name))
    names = {n % (d.stem, version) for d in DISTS for n in ("%s-%s.tar.gz", "%s-%s-py3-none-any.whl")}
    strays = sorted(p.name for p in outdir.iterdir() if p.name not in names)
    for stray in strays:
        report.fail("build", "-", "unexpected file in %s: %s" % (outdir.name, stray))

    for dist, files in built.items():
        failed = []
        for path in files:
            status, output = run([sys.executable, "-m", "twine", "check", "--strict", str(path)], timeout=120)
            if status != 0:
                failed.append("%s: %s" % (path.name, gist(output)))
        for line in failed:
            report.fail("twine", dist.name, line)
        if not failed:
            report.ok("twine", dist.name, "check --strict passed for the sdist and the wheel")

    wheels = {d.name: zipfile.ZipFile(files[1]) for d, files in built.items()}
    try:
        for dist in built:
            problems = check_wheel(dist, wheels[dist.name], version, wheels)
            for line in problems:
                report.fail("wheel", dist.name, line)
            if not problems:
                eps = "; ".join("%s: %s" % (g, " ".join(sorted(e))) for g, e in dist.entry_points.items())
                report.ok("wheel", dist.name,
                          "%d files as src/, py.typed, no tests; requires %s; entry points %s"
                          % (len(source_files(dist)), ", ".join(dist.siblings) or "nothing", eps or "none"))
    finally:
        for zf in wheels.values():
            zf.close()

    with tempfile.TemporaryDirectory(prefix="rel-sdists-") as tmp:
        def rebuild(dist: Dist) -> Tuple[Optional[Path], str]:
            work = Path(tmp) / dist.name
            work.mkdir()
            return rebuild_from_sdist(built[dist][0], work)

        with ThreadPoolExecutor(max_workers=len(DISTS)) as pool:
            rebuilt = dict(zip(built, pool.map(rebuild, built)))
        for dist, (sdist, wheel) in built.items():
            problems = check_sdist(dist, sdist, version)
            again, output = rebuilt[dist]
            if again is None:
                problems.append("building a wheel from the unpacked sdist failed: %s" % gist(output))
            else:
                diff = same_wheel(wheel, again)
                if diff:
                    problems.append("the wheel built from the sdist is not the one in dist/: %s" % diff)
            for line in problems:
                report.fail("sdist", dist.name, line)
            if not problems:
                report.ok("sdist", dist.name, "sources, README, PKG-INFO; rebuilds the same wheel")

    if report.failures:
        print("build: %d problem(s); dist/ holds %d of 10 files" % (report.failures, 2 * len(built)))
        return 1
    print("build: %d files in %s, all checked" % (2 * len(built), outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
