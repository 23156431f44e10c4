"""Finding registrars: the entry-point group ``rel.registrars`` (name -> class).

rel-core registers its portable ``selectors`` registrar there; rel-registrars
adds one per OS poller; a third party can add its own. rel-core never imports
rel-registrars by name.
"""

from __future__ import annotations

import select
import sys
from typing import Dict, List, Type

from .registrar import Registrar

GROUP = "rel.registrars"

# The preference ladder, fastest first: the OS pollers of rel-registrars (each
# exists only on its platforms), then rel-core's portable one, which always works.
# rel-core's 'asyncio' registrar is never picked by default: initialize(['asyncio']).
supported_methods: List[str] = ["epoll", "kqueue", "devpoll", "poll", "select", "selectors"]

# Where each classic name lives, for the ImportError that says what to install.
DISTRIBUTIONS: Dict[str, str] = {
    "epoll": "rel-registrars",
    "kqueue": "rel-registrars",
    "devpoll": "rel-registrars",
    "poll": "rel-registrars",
    "select": "rel-registrars",
    "selectors": "rel-core",
    "asyncio": "rel-core",
}
# The select module call each classic name needs: where it is missing, no
# distribution can provide that registrar, and the ImportError says so (on
# Windows only select's and selectors' exist).
NEEDS: Dict[str, str] = {
    "epoll": "epoll", "kqueue": "kqueue", "devpoll": "devpoll", "poll": "poll", "select": "select",
}
# Accepted so that old configurations still start; never available.
RETIRED = {"pyevent": "pyevent no longer builds on Python 3; rel replaces it"}


def _entry_points() -> Dict[str, object]:
    from importlib import metadata

    if sys.version_info >= (3, 10):
        eps = metadata.entry_points(group=GROUP)
    else:  # pragma: no cover - Python 3.9
        eps = metadata.entry_points().get(GROUP, ())
    found: Dict[str, object] = {}
    for ep in eps:
        found.setdefault(ep.name, ep)
    return found


def available_names() -> List[str]:
    """Every registrar name advertised in the entry-point group."""
    return sorted(_entry_points())


def load(method: str) -> Type[Registrar]:
    """The registrar class called ``method``.

    Raises ImportError saying why not: an unknown name, a distribution to
    install, or a registrar that does not run on this platform.
    """
    if not isinstance(method, str):
        raise ImportError("registrar names are strings, not %r" % (method,))
    if method in RETIRED:
        raise ImportError("%r: %s" % (method, RETIRED[method]))
    ep = _entry_points().get(method)
    if ep is None:
        call = NEEDS.get(method)
        if call is not None and not hasattr(select, call):
            raise ImportError("%r does not run on this platform (%s): it needs select.%s, "
                              "which exists only elsewhere" % (method, sys.platform, call))
        if method in DISTRIBUTIONS:
            raise ImportError("%r lives in the %s distribution, which is not installed "
                              "(pip install %s)" % (method, DISTRIBUTIONS[method], DISTRIBUTIONS[method]))
        raise ImportError("%r is not a known registrar (known: %s)"
                          % (method, ", ".join(available_names() + sorted(RETIRED))))
    try:
        cls = ep.load()  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ImportError("%r is not available here: %s" % (method, exc)) from None
    return cls  # type: ignore[no-any-return]
