"""The poll registrar: POSIX systems (Linux, macOS, the BSDs, Solaris/illumos).

Not on Windows, where ``select.poll`` does not exist. On macOS poll(2) does not
work on devices (ttys); sockets and pipes are fine, and kqueue is preferred there
anyway. Everything it needs is in the poll family's base (see ``_base``):
poll reports a closed fd as POLLNVAL, and the base drops it.
"""

from __future__ import annotations

import select

from ._base import PollFamilyRegistrar, unavailable

PLATFORMS = "POSIX systems (Linux, macOS, the BSDs, Solaris/illumos), not Windows"


class PollRegistrar(PollFamilyRegistrar):
    """rel's registrar on ``select.poll`` (POSIX)."""

    name = "poll"
    _factory = "poll"


if not hasattr(select, "poll"):
    raise unavailable("poll", "poll", PLATFORMS)
