"""TLS readers: the bytes an ``ssl.SSLSocket`` decrypted, which no poller sees.

A TLS record can carry many messages; reading part of it decrypts all of it
into the socket, and the kernel, having handed the record over, never
reports the fd again until the peer speaks. So after a read callback on an
``ssl.SSLSocket`` (known when its watcher was made: ``SocketIO._tls``), the
one callback site (``Registrar._run_io``) asks ``_carry_tls``: bytes still
``pending()`` make the watcher *carried*, and the next pass does not wait and
lists it as ready after the fds the poller reported (``_with_carried``), for
as long as it is armed and bytes are pending (DESIGN.md, engine rule 6).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .listener import READ, SocketIO


#: the slot of an fd that has none
NO_SLOT = (None, None, None)


class TLSCarry:
    """The carried TLS readers of a registrar (see the module docstring)."""

    _carry: Dict[SocketIO, None]  # TLS readers to run in the next pass, in order
    _io: Dict[int, List[Optional[SocketIO]]]
    _REPORTS_KEYS: bool
    _READY_READ: int

    def _carry_tls(self, w: SocketIO) -> None:
        """After ``w``'s callback: if its SSLSocket still holds decrypted
        bytes, the next pass runs it again without waiting. The kernel has
        handed those bytes over already, so no poller would report the fd
        again until the peer spoke: a feed whose messages arrived in one TLS
        record would stall after the first. Costs one ``pending()`` per read
        on a TLS socket, nothing on any other."""
        if w.active and w.sock.pending():  # type: ignore[union-attr]
            if not self._carry:
                self._carry_started()
            self._carry[w] = None

    def _carry_started(self) -> None:
        """A TLS reader was carried to the next pass: a loop that does not
        come back by itself is told here (the asyncio registrar's). The
        passes of ``_run`` see ``_carry`` and do not wait."""

    def _with_carried(self, ready: Any) -> Any:
        """``ready`` and the carried TLS readers still armed with bytes
        pending, as read-ready entries of the poller's own form (a reader
        whose fd the poller reported readable too is not listed twice: it
        runs once a pass)."""
        carried = list(self._carry)
        self._carry.clear()
        keyed, ready_r, io = self._REPORTS_KEYS, self._READY_READ, self._io
        listed = {(key.fd if keyed else key) for key, bits in ready if bits & ready_r}
        # A watcher in its fd's slot is armed; ``pending()`` of an SSLSocket
        # never raises (closed, it has no TLS object left and answers 0).
        extra = [(w if keyed else w.fd, ready_r) for w in carried  # a SocketIO has .fd, as a key has
                 if w.fd not in listed and io.get(w.fd, NO_SLOT)[READ] is w
                 and w.sock.pending()]  # type: ignore[union-attr]
        return list(ready) + extra if extra else ready
