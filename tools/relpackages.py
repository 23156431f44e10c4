"""What each of the five distributions must be: the contract the release tools check.

This table is written from DESIGN.md and SPEC.md, not read from the pyproject
files: it is what the built files are checked *against*. The version is the one
thing read from the tree (every ``src/*/_version.py``, kept in lock-step by
``tools/bump.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Tuple

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Dist:
    name: str  # distribution name, as on PyPI
    import_name: str  # the one top-level import package its wheel holds
    siblings: Tuple[str, ...]  # the siblings it requires, each pinned == the version
    modules: Tuple[str, ...]  # modules its wheel must hold (besides what src/ holds)
    # {group: {name: target}}
    entry_points: Dict[str, Dict[str, str]] = field(default_factory=dict, hash=False)
    # its optional extras' Requires-Dist lines, spaces removed (outside services only: DESIGN.md)
    extras: Tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return ROOT / "packages" / self.name

    @property
    def stem(self) -> str:
        """The file-name form of the name (rel-core -> rel_core), as in dist/."""
        return re.sub(r"[-_.]+", "_", self.name).lower()


RTIMER_SCRIPT = {"console_scripts": {"rtimer": "rtimer.cli:main"}}

# In upload order: each one's siblings come before it (see RELEASING.md).
DISTS: Tuple[Dist, ...] = (
    Dist("rel-core", "rel_core", (),
         ("__init__", "_version", "rel", "listener", "registrar", "errors", "selector"),
         {"rel.registrars": {"selectors": "rel_core.selector:SelectorRegistrar",
                             "asyncio": "rel_core.asyncio_registrar:AsyncioRegistrar"}}),
    Dist("rel-registrars", "rel_registrars", ("rel-core",),
         ("__init__", "_version", "epoll", "kqueue", "devpoll", "poll", "select"),
         {"rel.registrars": {
             "epoll": "rel_registrars.epoll:EpollRegistrar",
             "kqueue": "rel_registrars.kqueue:KqueueRegistrar",
             "devpoll": "rel_registrars.devpoll:DevpollRegistrar",
             "poll": "rel_registrars.poll:PollRegistrar",
             "select": "rel_registrars.select:SelectRegistrar",
         }}),
    Dist("rel-util", "rel_util", ("rel-core",),
         ("__init__", "_version", "bus", "buff", "redis_bus", "_pipe", "_resp"),
         extras=("redis<9,>=5.0;extra=='redis'", "redis[hiredis]<9,>=5.0;extra=='hiredis'")),
    Dist("rtimer", "rtimer", ("rel-core",), ("__init__", "_version", "cli"), RTIMER_SCRIPT),
    # The compatibility package owns the `rel/` files and the `rtimer` script that
    # rel 0.4.9.27 owned, so that `pip install -U rel` leaves both in place (DESIGN.md, Layout).
    Dist("rel", "rel", ("rel-core", "rel-registrars", "rel-util", "rtimer"),
         ("__init__", "_version", "rel", "listener", "registrar", "errors", "util", "buff", "tools", "test"),
         RTIMER_SCRIPT),
)
BY_NAME = {d.name: d for d in DISTS}

VERSION_FILE_RE = re.compile(r'^__version__\s*=\s*["\']([^"\']*)["\']\s*$', re.M)


def version_file(dist: Dist, root: Path = ROOT) -> Path:
    return root / "packages" / dist.name / "src" / dist.import_name / "_version.py"


def read_version(dist: Dist, root: Path = ROOT) -> str:
    match = VERSION_FILE_RE.search(version_file(dist, root).read_text())
    if not match:
        raise ValueError("%s: no __version__ = \"...\" line" % version_file(dist, root))
    return match.group(1)


def project_version(root: Path = ROOT) -> str:
    """The version of the family: rel-core's (tools/bump.py keeps the others equal)."""
    return read_version(DISTS[0], root)


def canonical(name: str) -> str:
    """PEP 503 normalized name: Rel_Core -> rel-core."""
    return re.sub(r"[-_.]+", "-", name).lower()
