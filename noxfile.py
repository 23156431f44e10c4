"""Every test, check and measurement of the rel monorepo.

``nox`` runs every session but ``bench`` and ``bump``. The sessions that run
the code (``tests``, ``conformance``, ``integration``, ``users``, and
``differential``) run on every Python the packages declare (PYTHONS); the
others use the Python that runs nox. A missing interpreter is skipped, except
under CI=true, where nox treats it as an error. Each ``tests`` session installs
one package and only what it declares, which is what proves the minimal
installs work.

Finding the interpreters: nox looks for ``python3.X`` on PATH (and, in recent
versions, asks pyenv). pyenv's shims answer only for the versions pyenv is told
to expose, so when PYENV_VERSION is unset and pyenv holds a 3.X of PYTHONS
(``$PYENV_ROOT/versions/3.X.*``, newest patch), this file sets PYENV_VERSION to
them, the running interpreter's version first (so that ``python3`` stays what it
was). Any other machine puts ``python3.9`` ... ``python3.13`` on PATH its own way.

Venvs are made by uv when it is installed (``pip install 'nox[uv]'``, the
README's command), else by the standard venv module: the same sessions, slower.
"""

from __future__ import annotations

import glob
import os
import re
import sys

import nox

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|venv"
nox.options.sessions = [
    "lint", "types", "tests", "conformance", "integration", "compat", "users", "build", "installs",
]

# Every Python of requires-python (>=3.9) that is still maintained or current.
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _patch_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", os.path.basename(path)))


def expose_pyenv_versions() -> None:
    """Set PYENV_VERSION to pyenv's newest 3.X.* of each of PYTHONS, unless it is set."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    if os.environ.get("PYENV_VERSION") or not os.path.isdir(os.path.join(root, "versions")):
        return
    found = []
    for minor in PYTHONS:
        pattern = re.compile(r"^%s\.\d+$" % re.escape(minor))
        dirs = [d for d in glob.glob(os.path.join(root, "versions", minor + ".*"))
                if pattern.match(os.path.basename(d)) and os.path.exists(os.path.join(d, "bin", "python3"))]
        if dirs:
            found.append(os.path.basename(max(dirs, key=_patch_key)))
    running = "%d.%d." % sys.version_info[:2]
    found.sort(key=lambda v: not v.startswith(running))
    if found:
        os.environ["PYENV_VERSION"] = ":".join(found)


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
TEST_DEPS = ["pytest>=7", "hypothesis>=6", "pytest-xdist>=3"]
WEBSOCKET_DEPS = ["websocket-client>=1.9,<1.10", "websockets>=12"]
# rel's users, installed without their dependencies (each declares the registry's
# rel); cantools' own dependencies but rel (dez, babyweb, catmail, databae, fyg,
# venvr) come the same way, and what those need to run comes in USERS_DEPS.
USERS = ["dez==0.10.10.56", "ct==0.10.8.121", "babyweb==0.1.4.5", "catmail==0.1.9.6",
         "databae==0.2.1.7", "fyg==0.1.7.13", "venvr==0.1.5.8"]
USERS_DEPS = ["psutil>=5.9.1", "python-magic>=0.4.11", "python-dotenv>=1", "sqlalchemy>=2.0.30",
              "requests>=2.28.1"]


def install_local(session: nox.Session, *packages: str) -> None:
    """Install local packages together, so exact sibling pins resolve to them."""
    args = []
    for pkg in packages:
        args += ["-e", os.path.join(ROOT, "packages", pkg)]
    session.install(*args)


@nox.session(python=PYTHONS)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests in a venv holding only it and what it declares."""
    install_local(session, *SIBLINGS[package], package)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", package, "tests"), *session.posargs)


@nox.session(python=PYTHONS)
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


@nox.session(python=PYTHONS)
def integration(session: nox.Session) -> None:
    """websocket-client's run_forever(dispatcher=rel) against a real server."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS, *WEBSOCKET_DEPS)
    session.run("pytest", os.path.join(ROOT, "packages", "rel-util", "integration"), *session.posargs)


@nox.session
def compat(session: nox.Session) -> None:
    """Old programs, unchanged: pyevent via override(), old import paths, dez and
    cantools patterns."""
    install_local(session, *PACKAGES)
    session.install(*TEST_DEPS)
    session.run("pytest", os.path.join(ROOT, "tests", "compat"), *session.posargs)


@nox.session(python=PYTHONS)
def users(session: nox.Session) -> None:
    """rel's users' own programs, from the registry, unchanged, on this project's rel:
    dez 0.10.10.56's samples and cantools' ctutil, init_rel() and ctpubsub (tests/users)."""
    install_local(session, *PACKAGES)
    # --no-deps: they declare rel>=0.4.9.24, which must stay ours, not the registry's.
    session.install("--no-deps", *USERS)
    session.install(*USERS_DEPS, *TEST_DEPS, *WEBSOCKET_DEPS)
    session.run("pytest", os.path.join(ROOT, "tests", "users"), "-n", "4", *session.posargs)


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
    session.run("python", os.path.join(ROOT, "bench", "run.py"), *session.posargs)


@nox.session(default=False)
def bump(session: nox.Session) -> None:
    """Set every package's version and sibling pins: nox -s bump -- 0.5.1"""
    session.run("python", os.path.join(ROOT, "tools", "bump.py"), *session.posargs)
