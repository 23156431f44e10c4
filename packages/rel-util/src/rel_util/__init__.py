"""rel-util: rel's utilities on rel-core's public API.

* :mod:`rel_util.bus`: ``listen``/``emit``/``ask`` on named channels and
  ``when``/``transpire`` for one-time events (rel 0.4.9.27's ``rel.util``).
* :mod:`rel_util.buff`: ``buffwrite``/``release_buff`` and ``BuffWriter``,
  the buffered non-blocking writer websocket-client uses with
  ``dispatcher=rel`` (rel 0.4.9.27's ``rel.buff``).
"""

from ._version import __version__
from .buff import BuffWriter, buffwrite, release_buff
from .bus import AskTimeout, ask, ask_async, connect, disconnect, emit, listen, loudListen, transpire, when

__all__ = [
    "BuffWriter", "buffwrite", "release_buff",
    "listen", "emit", "ask", "ask_async", "when", "transpire", "loudListen",
    "connect", "disconnect", "AskTimeout",
    "__version__",
]
