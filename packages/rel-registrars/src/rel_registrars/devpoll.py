"""The devpoll registrar: Solaris and illumos (``/dev/poll``).

/dev/poll is poll(2) with the fd table kept in the kernel, so it is a member of
the poll family (see ``_base``): same bits, millisecond timeouts rounded up,
POLLNVAL for an fd closed while registered. Its own facts:

* Writing an fd that is already in the table ORs the new bits into the old
  ones; ``devpoll.modify`` therefore removes then re-adds (the engine only
  registers new fds and modifies known ones, so it never ORs by accident).
* ``devpoll.register`` only buffers the change; the kernel sees it at the next
  ``poll``. The engine checks that an fd is open before registering it.
* A devpoll object is sized by RLIMIT_NOFILE when it is created: one poll
  returns at most that many fds, and level triggering hands the rest to the
  next one.

Elsewhere the module raises ImportError. The tests run this class over a double
of ``select.devpoll`` (tests/doubles.py) by setting ``_select``.
"""

from __future__ import annotations

import select

from ._base import PollFamilyRegistrar, unavailable

PLATFORMS = "Solaris and illumos"


class DevpollRegistrar(PollFamilyRegistrar):
    """rel's registrar on ``select.devpoll`` (Solaris, illumos)."""

    name = "devpoll"
    _factory = "devpoll"


if not hasattr(select, "devpoll"):
    raise unavailable("devpoll", "devpoll", PLATFORMS)
