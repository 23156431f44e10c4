"""The wake-up channel: one byte written here ends a blocked poller wait.

Other threads write it after queueing a call for the loop thread, and the C
signal handler writes it (through ``signal.set_wakeup_fd``) the instant a signal
arrives, so a signal that lands just before the loop enters the kernel still
wakes it (Python-level handlers only run between bytecodes).

A socketpair rather than a pipe: it exists on every platform Python runs on,
Windows included, and ``set_wakeup_fd`` accepts sockets there.
"""

from __future__ import annotations

import signal
import socket
import threading
from typing import Optional


class Waker:
    """A non-blocking socketpair; the loop polls ``fileno()`` for reading."""

    __slots__ = ("_reader", "_writer", "_old_wakeup_fd")

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
        self._old_wakeup_fd: Optional[int] = None

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

    def catch_signals(self) -> None:
        """Have the C signal handler write here. Main thread only."""
        if self._old_wakeup_fd is None and threading.current_thread() is threading.main_thread():
            self._old_wakeup_fd = signal.set_wakeup_fd(
                self._writer.fileno(), warn_on_full_buffer=False
            )

    def release_signals(self) -> None:
        """Give the signal wake-up fd back to whoever had it. Main thread only."""
        if self._old_wakeup_fd is not None and threading.current_thread() is threading.main_thread():
            current = signal.set_wakeup_fd(self._old_wakeup_fd)
            if current != self._writer.fileno():
                # Someone replaced ours meanwhile: theirs stays.
                signal.set_wakeup_fd(current)
            self._old_wakeup_fd = None

    def close(self) -> None:
        self.release_signals()
        self._reader.close()
        self._writer.close()
