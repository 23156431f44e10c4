"""The wake-up channel: one byte written here ends a blocked poller wait.

Other threads write it after queueing a call for the loop thread, and rel's
signal handler after recording a signal. One more Waker, process-wide, is the
signal wake-up fd that the C handler writes the instant a signal arrives
(``signals.py`` owns it), so a signal that lands just before the loop enters
the kernel still wakes it (Python-level handlers only run between bytecodes).

A socketpair rather than a pipe: it exists on every platform Python runs on,
Windows included, and ``set_wakeup_fd`` accepts sockets there.
"""

from __future__ import annotations

import socket


class Waker:
    """A non-blocking socketpair; the loop polls ``fileno()`` for reading."""

    __slots__ = ("_reader", "_writer")

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        # Any byte wakes the loop, so a full buffer loses nothing: small
        # buffers keep a flood of wake-ups from pinning memory.
        for sock, opt in ((self._reader, socket.SO_RCVBUF), (self._writer, socket.SO_SNDBUF)):
            try:
                sock.setsockopt(socket.SOL_SOCKET, opt, 1)
            except OSError:  # pragma: no cover - some kernels refuse tiny buffers
                pass

    def fileno(self) -> int:
        return self._reader.fileno()

    def wake(self) -> None:
        """Make the next (or current) poller wait return at once. Thread-safe."""
        try:
            self._writer.send(b"\0")
        except OSError:  # full (a wake-up is already pending) or closed
            pass

    def drain(self) -> None:
        """Read every pending wake-up byte."""
        recv = self._reader.recv
        try:
            while recv(4096):
                pass
        except OSError:
            pass

    def wakeup_fileno(self) -> int:
        """The fd to hand ``signal.set_wakeup_fd``: a byte written there wakes
        whoever polls :meth:`fileno` (see rel_core/signals.py)."""
        return self._writer.fileno()

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
