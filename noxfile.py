"""Every test, check and measurement of the rel monorepo.

``nox`` runs every session but ``bench``, ``bump`` and ``mutate``. The sessions that run
the code (``tests``, ``conformance``, ``integration``, ``users``, and
``differential``) run on every Python the packages declare (PYTHONS); the
others use the Python that runs nox. A missing interpreter is skipped, except
under CI=true, where nox treats it as an error. Each ``tests`` session installs
one package and only what it declares, which is what proves the minimal
installs work.

Finding the interpreters: nox looks for ``python3.X`` on PATH (and, in recent
versions, asks pyenv). pyenv's shims answer only for the versions pyenv is told
to expose (PYENV_VERSION, which pyenv's shim sets to the version that runs nox),
so for each 3.X of PYTHONS that pyenv holds (``$PYENV_ROOT/versions/3.X.*``,
newest patch) and PYENV_VERSION does not name, this file appends it to
PYENV_VERSION: what it held stays first, so ``python3`` stays what it was. Any
other machine puts ``python3.9`` ... ``python3.13`` on PATH its own way.

Venvs are made by uv when it is installed (``pip install 'nox[uv]'``, the
README's command), else by the standard venv module: the same sessions, slower.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
from typing import List

import nox
import nox.virtualenv

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|venv"
nox.options.sessions = [
    "lint", "types", "tests", "conformance", "windows", "integration", "compat", "differential",
    "users", "redis", "build", "installs", "docs",
]

# Every Python of requires-python (>=3.9) that is still maintained or current.
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _patch_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", os.path.basename(path)))


def expose_pyenv_versions() -> None:
    """Add pyenv's newest 3.X.* of each of PYTHONS to PYENV_VERSION (after what it holds)."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if not os.path.isdir(os.path.join(root, "versions")):
        return
    # pyenv's shim sets PYENV_VERSION to the version that runs nox: keep it first.
    current = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    for minor in PYTHONS:
        if any(v == minor or v.startswith(minor + ".") for v in current):
            continue
        pattern = re.compile(r"^%s\.\d+$" % re.escape(minor))
        dirs = [d for d in glob.glob(os.path.join(root, "versions", minor + ".*"))
                if pattern.match(os.path.basename(d)) and os.path.exists(os.path.join(d, "bin", "python3"))]
        if dirs:
            current.append(os.path.basename(max(dirs, key=_patch_key)))
    if not current:
        return
    running = "%d.%d." % sys.version_info[:2]
    if not os.environ.get("PYENV_VERSION"):  # nox not started through a shim: its own version first
        current.sort(key=lambda v: not v.startswith(running))
    os.environ["PYENV_VERSION"] = ":".join(current)


expose_pyenv_versions()

ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGES = ["rel-core", "rel-registrars", "rel-util", "rtimer", "rel"]
# What each package declares among its siblings (its pyproject's dependencies).
SIBLINGS = {
    "rel-core": [],
    "rel-registrars": ["rel-core"],
    "rel-util": ["rel-core"],
    "rtimer": ["rel-core"],
    "rel": ["rel-core", "rel-registrars", "rel-util", "rtimer"],
}
TEST_DEPS = ["pytest>=7", "hypothesis>=6", "pytest-timeout>=2", "pytest-xdist>=3"]
# pytest-xdist workers per suite, measured on the 2-core machines: a suite that mostly
# waits (timers, subprocesses, sockets) gains from more workers than cores; a small
# or quick one loses more to starting workers (seconds each) than it gains, and runs
# in one process (0). REL_TEST_WORKERS=N sets every suite to N.
SUITE_WORKERS = {"rel-core": 4, "rel-registrars": 0, "rel-util": 0, "rtimer": 8, "rel": 0,
                 "conformance": 8, "integration": 4, "differential": 0, "users": 2, "redis": 2}
WORKERS = os.environ.get("REL_TEST_WORKERS", "")


def parallel(suite: str) -> list:
    """pytest's arguments for ``suite``'s worker processes (none for 0)."""
    workers = WORKERS or str(SUITE_WORKERS.get(suite, 0))
    return [] if workers in ("", "0") else ["-n", workers]
WEBSOCKET_DEPS = ["websocket-client>=1.9,<1.10", "websockets>=12"]
# rel's users, installed without their dependencies (each declares the registry's
# rel); cantools' own dependencies but rel (babyweb, catmail, databae, fyg, venvr)
# come the same way, and what those need to run comes in *_DEPS.
DEZ = "dez==0.10.10.56"
DEZ_DEPS = ["psutil>=5.9.1", "python-magic>=0.4.11"]
CANTOOLS = ["ct==0.10.8.121", "babyweb==0.1.4.5", "catmail==0.1.9.6", "databae==0.2.1.7", "fyg==0.1.7.13",
            "venvr==0.1.5.8"]
CANTOOLS_DEPS = ["python-dotenv>=1", "sqlalchemy>=2.0.30", "requests>=2.28.1"]


WHEELS = os.path.join(ROOT, ".nox", "_wheels")
_built: dict = {}


def _source_hash(pkg: str) -> str:
    """A digest of what goes into ``pkg``'s wheel (everything in its folder but the tests)."""
    base = os.path.join(ROOT, "packages", pkg)
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in ("tests", "integration", "__pycache__", "build",
                                                              "dist") and not d.endswith(".egg-info"))
        for name in sorted(filenames):
            if name.endswith(".pyc"):
                continue
            path = os.path.join(dirpath, name)
            digest.update(os.path.relpath(path, base).encode() + b"\0")
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def local_wheel(session: nox.Session, pkg: str) -> str:
    """The wheel of local package ``pkg``, built once per change of its sources.

    Forty-odd sessions install the local packages; an editable install builds each
    package anew every time (seconds each), a built wheel installs in a blink.
    """
    if pkg not in _built:
        out = os.path.join(WHEELS, "%s-%s" % (pkg, _source_hash(pkg)))
        found = glob.glob(os.path.join(out, "*.whl"))
        if len(found) != 1:
            tmp = out + ".tmp"
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(tmp, ignore_errors=True)
            src = os.path.join(ROOT, "packages", pkg)
            if getattr(nox.virtualenv, "HAS_UV", False):
                cmd = [nox.virtualenv.UV, "build", "--quiet", "--wheel", "--out-dir", tmp, src]
            else:
                cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp, src]
            session.run(*cmd, external=True, silent=True)
            os.rename(tmp, out)
            found = glob.glob(os.path.join(out, "*.whl"))
        _built[pkg] = found[0]
    return _built[pkg]


def install_local(session: nox.Session, *packages: str, editable: bool = False) -> None:
    """Install local packages together, so exact sibling pins resolve to them: their
    wheels (see local_wheel), or the source folders themselves with ``editable``."""
    if editable:
        args = []
        for pkg in packages:
            args += ["-e", os.path.join(ROOT, "packages", pkg)]
    else:
        args = [local_wheel(session, pkg) for pkg in packages]
    session.install(*args)


def apt_install(session: nox.Session, binary: str, *packages: str) -> str | None:
    """``binary``, found on PATH, or installed from Debian's ``packages`` with
    apt-get when we are root (their services kept from starting: nothing may be
    left running); None if neither."""
    found = shutil.which(binary)
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    session.log("%s missing: apt-get install -y %s" % (binary, " ".join(packages)))
    policy = "/usr/sbin/policy-rc.d"
    own_policy = not os.path.exists(policy)
    if own_policy:  # a package like redis-server would start its service and leave it running
        with open(policy, "w") as fh:
            fh.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
            if done.returncode != 0:
                session.warn("%s failed: %s" % (" ".join(cmd), done.stderr.strip()[-500:]))
                return None
    except (OSError, subprocess.SubprocessError) as exc:
        session.warn("apt-get failed: %s" % (exc,))
        return None
    finally:
        if own_policy:
            os.remove(policy)
    return shutil.which(binary)


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests in a venv holding only it and what it declares."""
    install_local(session, *SIBLINGS[package], package)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", package, "tests"), *parallel(package),
                *session.posargs)


@nox.session(python=PYTHONS)
def conformance(session: nox.Session) -> None:
    """Run rel-core's behaviour suite against every registrar on this machine
    but rel-core's own (its tests session runs that one), and against the
    kqueue/devpoll test doubles."""
    install_local(session, "rel-core", "rel-registrars")
    session.install(*TEST_DEPS)
    doubles = os.path.join(ROOT, "packages", "rel-registrars", "tests")
    session.run(
        "pytest", os.path.join(ROOT, "packages", "rel-core", "tests"), *parallel("conformance"),
        *session.posargs,
        env={
            "REL_TEST_REGISTRARS": "all",
            "REL_TEST_SKIP_REGISTRARS": "selectors",  # tests(package='rel-core') runs it, in its own venv
            "REL_TEST_EXTRA_REGISTRARS": "doubles:KqueueDoubleRegistrar,doubles:DevpollDoubleRegistrar",
            "PYTHONPATH": doubles,
        },
    )


@nox.session
def windows(session: nox.Session) -> None:
    """rel-core's conformance suite and rtimer's tests on a real CPython for
    Windows, under Wine (tools/wine_python.py)."""
    if apt_install(session, "wine", "wine", "wine64") is None:
        message = "no `wine` on PATH, and it could not be installed (Debian: apt-get install wine wine64)"
        if os.environ.get("CI"):
            session.error(message)
        session.skip(message)
    session.install("pip")  # wine_python.py fetches Windows wheels with pip (uv venvs have none)
    tool = os.path.join(ROOT, "tools", "wine_python.py")
    cache = os.path.join(session.cache_dir, "wine-python")
    # Both suites at once (" :: "), rel-core's (the longer, 2.5 min alone) in two
    # workers: each Wine process keeps one core busy at most.
    runs: List[str] = []
    for tests, workers in (("rel-core", ["-n", "2"]), ("rtimer", [])):
        runs += ["::", "-m", "pytest", "-p", "no:cacheprovider", *workers,
                 os.path.join(ROOT, "packages", tests, "tests"), *session.posargs]
    session.run("python", tool, cache, "--", *runs[1:], env={"REL_TEST_REGISTRARS": "all"})


@nox.session(python=PYTHONS)
def integration(session: nox.Session) -> None:
    """websocket-client's run_forever(dispatcher=rel) against a real server; and
    BuffWriter on TLS sockets on every registrar (rel-util's own session has
    only rel-core's)."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS, *WEBSOCKET_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "integration"), *parallel("integration"),
                *session.posargs)
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "tests", "test_buff_tls.py"),
                *session.posargs)


@nox.session
@nox.parametrize("parser", ["hiredis", "python"])
def redis(session: nox.Session, parser: str) -> None:
    """The bus across processes against a real redis-server (installed if missing),
    with hiredis's parser and with redis-py's pure-Python one."""
    binary = apt_install(session, "redis-server", "redis-server")
    if binary is None:
        session.skip("!!! REDIS BUS TESTS SKIPPED: no redis-server here and it could not be installed "
                     "(needs root and apt-get, or install redis-server yourself) !!!")
    install_local(session, "rel-core", "rel-registrars", "rel-util", "rtimer", "rel")
    session.install("redis>=5.0,<9", *TEST_DEPS)
    if parser == "hiredis":  # each parser has a venv of its own: the other never holds hiredis
        session.install("hiredis")
    session.run("python", "-c", "import rel_util._resp as r; assert r.PARSER == %r, r.PARSER" % (parser,))
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "redis_tests"), *parallel("redis"),
                *session.posargs,
                env={"REL_REDIS_SERVER": binary})


@nox.session
def compat(session: nox.Session) -> None:
    """Old programs, unchanged: pyevent via override(), old import paths, dez and
    cantools patterns."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "tests", "compat"), *session.posargs)


@nox.session(python=PYTHONS)
def differential(session: nox.Session) -> None:
    """This project beside rel 0.4.9.27 from PyPI: every name, signature and trace."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS)
    # The original in a venv of its own, made by this session's interpreter.
    original = os.path.join(os.path.abspath(session.create_tmp()), "rel-0.4.9.27")
    python = os.path.join(original, "Scripts" if os.name == "nt" else "bin", "python")
    uv = nox.virtualenv.UV if getattr(nox.virtualenv, "HAS_UV", False) else None
    if not os.path.exists(python):
        if uv:  # seconds faster than venv + pip, five times a run
            base = shutil.which("python", path=session.bin) or "python"
            session.run(uv, "venv", "--quiet", "--python", base, original, external=True)
        else:
            session.run("python", "-m", "venv", original)
    if uv:
        session.run(uv, "pip", "install", "--quiet", "--python", python, "rel==0.4.9.27", external=True)
    else:
        session.run(python, "-m", "pip", "install", "--quiet", "rel==0.4.9.27", external=True)
    session.run("pytest", os.path.join(ROOT, "tests", "differential"), *parallel("differential"),
                *session.posargs, env={"REL_ORIGINAL_PYTHON": python})


@nox.session(python=PYTHONS)
def users(session: nox.Session) -> None:
    """rel's users' own programs, from the registry, unchanged, on this project's rel:
    dez 0.10.10.56's samples and cantools' ctutil, init_rel() and ctpubsub (tests/users)."""
    install_local(session, *PACKAGES)
    # --no-deps: they declare rel>=0.4.9.24, which must stay ours, not the registry's.
    # Compiled at install (pip does, uv only when told): else every program started
    # compiles sqlalchemy's hundreds of modules on its first import, for tens of seconds.
    compiled = {"UV_COMPILE_BYTECODE": "1"}
    session.install("--no-deps", DEZ, *CANTOOLS, env=compiled)
    session.install(*DEZ_DEPS, *CANTOOLS_DEPS, *TEST_DEPS, *WEBSOCKET_DEPS, env=compiled)
    session.run("pytest", os.path.join(ROOT, "tests", "users"), *parallel("users"), *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every package, the benchmarks and the tools."""
    session.install("ruff")
    session.run("ruff", "check", ROOT, *session.posargs)


@nox.session
def types(session: nox.Session) -> None:
    """mypy on the public API of every package."""
    install_local(session, *PACKAGES, editable=True)
    session.install("mypy")
    srcs = sorted(glob.glob(os.path.join(ROOT, "packages", "*", "src", "*")))
    session.run("mypy", *srcs, *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build every sdist and wheel into dist/, twine check them, check contents."""
    session.install("build[uv]", "twine")
    session.run("python", os.path.join(ROOT, "tools", "build_dists.py"), *session.posargs)


@nox.session(requires=["build"])
def installs(session: nox.Session) -> None:
    """Install from dist/ only, each way users do, each in a fresh venv (after build)."""
    session.run("python", os.path.join(ROOT, "tools", "check_installs.py"), *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site: HTML with warnings as errors, its doctests, every example run."""
    install_local(session, *PACKAGES, editable=True)  # autodoc and warnings name the sources here
    session.install("sphinx>=7", "furo>=2024.1", "myst-parser>=2", "matplotlib>=3.7", "trustme>=1",
                    "redis>=5.0,<9", *WEBSOCKET_DEPS, *TEST_DEPS, *DEZ_DEPS)
    session.install("--no-deps", DEZ)  # the server guide's example (--no-deps: keeps the registry's rel out)
    apt_install(session, "dot", "graphviz")  # the engine diagram; without it, the hand-kept SVG
    binary = apt_install(session, "redis-server", "redis-server")  # the two-process bus example
    if binary:
        session.env["REL_REDIS_SERVER"] = binary
    src, out = os.path.join(ROOT, "docs"), os.path.join(ROOT, "docs", "_build")
    strict = ["-W", "--keep-going", "-n", "-q", "-d", os.path.join(out, "doctrees")]
    session.run("sphinx-build", *strict, "-b", "html", src, os.path.join(out, "html"))
    session.run("sphinx-build", *strict, "-b", "doctest", src, os.path.join(out, "doctest"))
    session.run("pytest", os.path.join(src, "tests"), *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure this project beside rel 0.4.9.27 and asyncio; print ratios."""
    install_local(session, *PACKAGES, editable=True)
    # the dezhttp scenario: dez's hello-world on this rel (--no-deps keeps the registry's rel out),
    # loaded by wrk from Debian's packages, installed here when missing and this is root.
    session.install("--no-deps", DEZ)
    session.install(*DEZ_DEPS)
    if apt_install(session, "wrk", "wrk") is None:
        session.warn("no wrk: the dezhttp scenario uses its Python client")
    session.install("uvloop")  # the aioloop scenario: rel on uvloop (a bench-only dependency)
    session.install("redis>=5.0,<9", "hiredis")  # the redisbus scenario (n/a without a redis-server)
    binary = apt_install(session, "redis-server", "redis-server")
    if binary:
        session.env["REL_REDIS_SERVER"] = binary
    session.run("python", os.path.join(ROOT, "bench", "run.py"), *session.posargs)


@nox.session(default=False)
def bump(session: nox.Session) -> None:
    """Set every package's version and sibling pins: nox -s bump -- 0.5.1"""
    session.run("python", os.path.join(ROOT, "tools", "bump.py"), *session.posargs)


@nox.session(default=False)
def mutate(session: nox.Session) -> None:
    """Mutation testing of the engine with cosmic-ray (slow: not in plain nox).
    nox -s mutate -- [--workers 3] [--only registrar,buff] [--keep DIR];
    see tests/mutation/run.py."""
    # Editable: the coverage map (run.py) names lines of the sources in this
    # tree, so the tests must import them from here, not from a wheel's copy.
    install_local(session, "rel-core", "rel-registrars", "rel-util", editable=True)
    session.install(*TEST_DEPS, "pytest-cov>=4", "cosmic-ray>=8.3")
    session.run("python", os.path.join(ROOT, "tests", "mutation", "run.py"), *session.posargs)
