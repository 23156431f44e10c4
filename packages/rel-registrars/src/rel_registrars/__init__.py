"""rel-registrars: one tuned rel registrar per OS poller.

=========  ====================  ===================
name       class                 platforms
=========  ====================  ===================
epoll      ``EpollRegistrar``    Linux
kqueue     ``KqueueRegistrar``   macOS, the BSDs
devpoll    ``DevpollRegistrar``  Solaris, illumos
poll       ``PollRegistrar``     POSIX (not Windows)
select     ``SelectRegistrar``   everywhere
=========  ====================  ===================

rel finds them through the ``rel.registrars`` entry points, by name::

    import rel_core as rel
    rel.initialize(["epoll"])

Every class name is importable on every platform (``rel.registrar`` re-exports
them). Where a registrar's kernel call is missing, its module raises ImportError
and the name here is a stand-in whose instantiation raises that ImportError.
"""

from __future__ import annotations

from typing import Any, NoReturn, Type

from rel_core.registrar import Registrar

from ._version import __version__

__all__ = [
    "EpollRegistrar", "KqueueRegistrar", "DevpollRegistrar", "PollRegistrar", "SelectRegistrar",
    "__version__",
]


def _stand_in(cls_name: str, name: str, exc: ImportError) -> Type[Registrar]:
    """A class named ``cls_name`` whose instantiation raises ``exc``'s message."""
    message = str(exc)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImportError(message)

    doc = "Not available on this platform: %s" % message
    return type(cls_name, (Registrar,), {"name": name, "__init__": __init__, "__doc__": doc,
                                         "__module__": __name__})


try:
    from .epoll import EpollRegistrar
except ImportError as exc:
    EpollRegistrar = _stand_in("EpollRegistrar", "epoll", exc)  # type: ignore[misc,assignment]
try:
    from .kqueue import KqueueRegistrar
except ImportError as exc:
    KqueueRegistrar = _stand_in("KqueueRegistrar", "kqueue", exc)  # type: ignore[misc,assignment]
try:
    from .devpoll import DevpollRegistrar
except ImportError as exc:
    DevpollRegistrar = _stand_in("DevpollRegistrar", "devpoll", exc)  # type: ignore[misc,assignment]
try:
    from .poll import PollRegistrar
except ImportError as exc:
    PollRegistrar = _stand_in("PollRegistrar", "poll", exc)  # type: ignore[misc,assignment]
from .select import SelectRegistrar  # noqa: E402  (runs everywhere)
