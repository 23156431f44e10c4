"""The contenders (the columns of the comparison), the venvs they need, and the
run's context that every report reads."""

from __future__ import annotations

import os
import platform
import select
import shutil
import subprocess
import sys

from .jobs import run_script
from .output import log

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL0_VERSION = "0.4.9.27"
REL0_VENV = os.path.join(HERE, ".venv-rel0")
# Registrars in the order their rows are shown (others follow, sorted); the
# first available is what initialize() picks by default.
PREFERENCE = ["epoll", "kqueue", "devpoll", "poll", "select", "selectors"]
PORTABLE = "selectors"
# Registrars with a table of their own (aioloop), left out of the generic rows.
OWN_TABLE = {"asyncio"}
# dez, one of rel's users: its HTTP hello-world sample is the dezhttp scenario's server.
DEZ = "dez==0.10.10.56"
DEZ_DEPS = ["psutil>=5.9.1", "python-magic>=0.4.11"]

FLOOR_NOTE = ("floor: not an event loop but its lower bound: `select.epoll.poll` and a dict of "
              "callbacks, nothing else (no error handling, no threads, no signals, no watcher that "
              "stops), running the same callbacks. What it reaches is the system calls' and the "
              "scenario's own cost on this machine: no Python loop can go faster. The selectors "
              "floor is the same loop waiting in `selectors.DefaultSelector().select()`: the bound "
              "of any loop on the `selectors` module, asyncio's and rel_core's portable registrar "
              "included.")


class Contender:
    """One column of the comparison: a label, an interpreter, a --contender spec."""

    def __init__(self, key, label, python, spec, unavailable=None):
        self.key = key  # "asyncio", "rel0", or a registrar name
        self.label = label
        self.python = python
        self.spec = spec
        self.unavailable = unavailable  # why it cannot run, or None

    def but_unavailable(self, why):
        """This contender, unavailable for ``why`` if ``why`` (a copy: the
        original stays available to the other scenarios)."""
        return Contender(self.key, self.label, self.python, self.spec, why) if why else self


class Context:
    """What a report needs: the contenders, the settings, where targets go."""

    def __init__(self, cs, names, available, default, settings, dez_why=None):
        self.cs = cs  # {key: Contender}
        self.names = names  # every registrar this project declares, in row order
        self.available = available  # those that run here
        self.default = default  # what initialize() picks, or None
        self.s = settings
        self.dez_why = dez_why or {}
        self.summary = []  # (issue, target, passed/None/"info", detail)

    @property
    def base(self):
        """asyncio and rel 0.4.9.27: the references every table is divided by."""
        return [self.cs["asyncio"], self.cs["rel0"]]

    @property
    def ours_all(self):
        """A row per registrar of this project (but those with a table of their own)."""
        return [self.cs[n] for n in self.names if n in self.cs and n not in OWN_TABLE]

    @property
    def ours_main(self):
        """The portable registrar and the default one."""
        return [self.cs[n] for n in self.names if n in self.cs and (n == PORTABLE or n == self.default)]

    @property
    def floor(self):
        return [self.cs["floor"], self.cs["floor:selectors"]]

    @property
    def ours_targeted(self):
        """The registrars the issues' targets name: the portable one and the default."""
        return list(dict.fromkeys(n for n in (PORTABLE, self.default)
                                  if n in self.available and n is not None))


def probe_project():
    """Ask this interpreter which registrars run here and whether rel_util imports."""
    res = run_script("probe.py", sys.executable, [])
    if "error" in res:
        raise SystemExit("bench: cannot probe this project's packages: %s" % (res["error"],))
    return res


def ensure_rel0(path, skip_install=False):
    """The python of a venv holding rel 0.4.9.27 (created if needed), or (None, why)."""
    py = os.path.join(path, "bin", "python")
    check = [py, "-c", "from importlib.metadata import version; print(version('rel'))"]

    def installed():
        try:
            out = subprocess.run(check, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    if os.path.exists(py) and installed() == REL0_VERSION:
        return py, None
    if skip_install:
        return None, "no venv with rel %s at %s (--no-install)" % (REL0_VERSION, path)
    log("bench: creating %s with rel==%s from the registry ..." % (path, REL0_VERSION))
    if os.path.exists(path):
        shutil.rmtree(path)
    steps = [[sys.executable, "-m", "venv", path],
             [py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "rel==" + REL0_VERSION]]
    for cmd in steps:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return None, "%s failed: %s" % (" ".join(cmd[:4]), exc)
        if out.returncode != 0:
            tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
            return None, "%s failed: %s" % (" ".join(cmd[:4]), " | ".join(tail))
    version = installed()
    if version != REL0_VERSION:
        return None, "venv at %s holds rel %r, not %s" % (path, version, REL0_VERSION)
    return py, None


def ensure_dez(python, skip_install=False):
    """None when ``python`` imports dez (installing it there with --no-deps, so that it keeps that
    venv's rel, unless skip_install), else why not."""
    check = [python, "-c", "import dez.http.server"]

    def ok():
        try:
            return subprocess.run(check, capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    if ok():
        return None
    if skip_install:
        return "dez is not installed in %s" % (python,)
    log("bench: installing %s (--no-deps) into %s ..." % (DEZ, python))
    for args in (["--no-deps", DEZ], DEZ_DEPS):
        cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + args
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            return "%s failed: %s" % (" ".join(cmd[3:]), exc)
        if out.returncode != 0:
            return "pip install %s failed: %s" % (" ".join(args), (out.stderr or out.stdout).strip()[-200:])
    return None if ok() else "dez still not importable by %s" % (python,)


def make_contenders(probe, rel0_python, rel0_why):
    """({key: Contender}, every registrar name, those available, the default)."""
    registrars = probe.get("registrars", {})
    names = [n for n in PREFERENCE if n in registrars] + sorted(n for n in registrars if n not in PREFERENCE)
    available = [n for n in names if registrars[n] == "ok"]
    default = available[0] if available else None
    cs = {
        "asyncio": Contender("asyncio", "asyncio (%s)" % platform.python_version(), sys.executable,
                             "asyncio"),
        "rel0": Contender("rel0", "rel %s (epoll)" % REL0_VERSION, rel0_python, "rel0",
                          None if rel0_python else "rel %s unavailable: %s" % (REL0_VERSION, rel0_why)),
    }
    cs["floor"] = Contender("floor", "floor: no engine, a bare epoll loop", sys.executable, "floor",
                            None if hasattr(select, "epoll") else "needs select.epoll (Linux)")
    cs["floor:selectors"] = Contender("floor:selectors", "floor: no engine, a bare selectors loop",
                                      sys.executable, "floor:selectors")
    cs["uvloop"] = Contender("uvloop", "uvloop (%s)" % (probe.get("uvloop") or "-"), sys.executable,
                             "uvloop", None if probe.get("uvloop") else
                             "uvloop is not installed (a bench-only dependency)")
    if "asyncio" in registrars:  # the registrar, keyed apart from asyncio's own loop
        why = None if registrars["asyncio"] == "ok" else registrars["asyncio"]
        cs["rel:asyncio"] = Contender("rel:asyncio", "rel_core: asyncio", sys.executable, "rel:asyncio", why)
    for n in available:
        if n in OWN_TABLE:
            continue
        tag = " (portable)" if n == PORTABLE else ""
        tag += " (default)" if n == default and n != PORTABLE else ""
        why = None if registrars[n] == "ok" else registrars[n]
        cs[n] = Contender(n, "rel_core: %s%s" % (n, tag), sys.executable, "rel:" + n, why)
    return cs, names, available, default
