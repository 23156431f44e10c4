"""Every test, check and measurement of the rel monorepo.

``nox`` runs every session but ``bench`` and ``bump``. Sessions use the Python
that runs nox (CI installs one interpreter; nox treats a missing one as an
error under CI=true). Each ``tests`` session installs one package and only
what it declares, which is what proves the minimal installs work.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "venv"
nox.options.sessions = [
    "lint", "types", "tests", "conformance", "windows", "integration", "compat",
    "differential", "redis", "build", "installs",
]

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
TEST_DEPS = ["pytest>=7", "hypothesis>=6", "pytest-timeout>=2"]
WEBSOCKET_DEPS = ["websocket-client>=1.9,<1.10", "websockets>=12"]


def install_local(session: nox.Session, *packages: str) -> None:
    """Install local packages together, so exact sibling pins resolve to them."""
    args = []
    for pkg in packages:
        args += ["-e", os.path.join(ROOT, "packages", pkg)]
    session.install(*args)


@nox.session
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests in a venv holding only it and what it declares."""
    install_local(session, *SIBLINGS[package], package)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", package, "tests"), *session.posargs)


@nox.session
def conformance(session: nox.Session) -> None:
    """Run rel-core's behaviour suite against every registrar on this machine,
    and against the kqueue/devpoll test doubles."""
    install_local(session, "rel-core", "rel-registrars")
    session.install(*TEST_DEPS)
    doubles = os.path.join(ROOT, "packages", "rel-registrars", "tests")
    session.run(
        "pytest", os.path.join(ROOT, "packages", "rel-core", "tests"), *session.posargs,
        env={
            "REL_TEST_REGISTRARS": "all",
            "REL_TEST_EXTRA_REGISTRARS": "doubles:KqueueDoubleRegistrar,doubles:DevpollDoubleRegistrar",
            "PYTHONPATH": doubles,
        },
    )


@nox.session
def windows(session: nox.Session) -> None:
    """rel-core's conformance suite and rtimer's tests on a real CPython for
    Windows, under Wine (tools/wine_python.py)."""
    if shutil.which("wine") is None:
        message = "no `wine` on PATH (Debian: apt-get install wine wine64; .ci/run does)"
        if os.environ.get("CI"):
            session.error(message)
        session.skip(message)
    tool = os.path.join(ROOT, "tools", "wine_python.py")
    cache = os.path.join(session.cache_dir, "wine-python")
    for tests, env in (("rel-core", {"REL_TEST_REGISTRARS": "all"}), ("rtimer", {})):
        session.run("python", tool, cache, "--", "-m", "pytest", "-p", "no:cacheprovider",
                    os.path.join(ROOT, "packages", tests, "tests"), *session.posargs, env=env)


@nox.session
def integration(session: nox.Session) -> None:
    """websocket-client's run_forever(dispatcher=rel) against a real server."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS, *WEBSOCKET_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "integration"), *session.posargs)


def redis_server(session: nox.Session) -> str | None:
    """The redis-server binary: found, or installed with apt-get when we are root
    (the Debian package, its service kept from starting); None if neither."""
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server") if os.path.exists(p)), None)
    if found:
        return found
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    session.log("redis-server missing: apt-get install -y redis-server")
    policy = "/usr/sbin/policy-rc.d"
    own_policy = not os.path.exists(policy)
    if own_policy:  # the package would start a server on port 6379 and leave it running
        with open(policy, "w") as fh:
            fh.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "redis-server"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                session.warn("%s failed: %s" % (" ".join(cmd), done.stderr.strip()[-500:]))
                return None
    except (OSError, subprocess.SubprocessError) as exc:
        session.warn("apt-get failed: %s" % (exc,))
        return None
    finally:
        if own_policy:
            os.remove(policy)
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


@nox.session
@nox.parametrize("parser", ["hiredis", "python"])
def redis(session: nox.Session, parser: str) -> None:
    """The bus across processes against a real redis-server (installed if missing),
    with hiredis's parser and with redis-py's pure-Python one."""
    binary = redis_server(session)
    if binary is None:
        session.skip("!!! REDIS BUS TESTS SKIPPED: no redis-server here and it could not be installed "
                     "(needs root and apt-get, or install redis-server yourself) !!!")
    install_local(session, "rel-core", "rel-registrars", "rel-util", "rtimer", "rel")
    session.install("redis>=5.0,<9", *TEST_DEPS)
    if parser == "hiredis":
        session.install("hiredis")
    else:
        session.run("python", "-m", "pip", "uninstall", "-y", "-q", "hiredis", silent=True)
    session.run("python", "-c", "import rel_util._resp as r; assert r.PARSER == %r, r.PARSER" % (parser,))
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "redis_tests"), *session.posargs,
                env={"REL_REDIS_SERVER": binary})


@nox.session
def compat(session: nox.Session) -> None:
    """Old programs, unchanged: pyevent via override(), old import paths, dez and
    cantools patterns."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "tests", "compat"), *session.posargs)


@nox.session
def differential(session: nox.Session) -> None:
    """This project beside rel 0.4.9.27 from PyPI: every name, signature and trace."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS)
    # The original in a venv of its own, made by this session's interpreter.
    original = os.path.join(os.path.abspath(session.create_tmp()), "rel-0.4.9.27")
    python = os.path.join(original, "Scripts" if os.name == "nt" else "bin", "python")
    if not os.path.exists(python):
        session.run("python", "-m", "venv", original)
    session.run(python, "-m", "pip", "install", "--quiet", "rel==0.4.9.27", external=True)
    session.run("pytest", os.path.join(ROOT, "tests", "differential"), *session.posargs,
                env={"REL_ORIGINAL_PYTHON": python})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every package, the benchmarks and the tools."""
    session.install("ruff")
    session.run("ruff", "check", ROOT, *session.posargs)


@nox.session
def types(session: nox.Session) -> None:
    """mypy on the public API of every package."""
    install_local(session, *PACKAGES)
    session.install("mypy")
    srcs = sorted(glob.glob(os.path.join(ROOT, "packages", "*", "src", "*")))
    session.run("mypy", *srcs, *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build every sdist and wheel into dist/, twine check them, check contents."""
    session.install("build", "twine")
    session.run("python", os.path.join(ROOT, "tools", "build_dists.py"), *session.posargs)


@nox.session(requires=["build"])
def installs(session: nox.Session) -> None:
    """Install from dist/ only, each way users do, each in a fresh venv (after build)."""
    session.run("python", os.path.join(ROOT, "tools", "check_installs.py"), *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure this project beside rel 0.4.9.27 and asyncio; print ratios."""
    install_local(session, *PACKAGES)
    session.install("redis>=5.0,<9", "hiredis")  # the redisbus scenario (n/a without a redis-server)
    binary = redis_server(session)
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
    install_local(session, "rel-core", "rel-util")
    session.install(*TEST_DEPS, "pytest-cov>=4", "cosmic-ray>=8.3")
    session.run("python", os.path.join(ROOT, "tests", "mutation", "run.py"), *session.posargs)
