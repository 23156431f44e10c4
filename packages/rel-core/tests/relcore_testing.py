"""Helpers for rel-core's tests (imported by conftest.py and the test modules;
named so as not to clash with other packages' test helpers on sys.path)."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import types
from typing import Any, Callable, List, Optional, Tuple

import pytest

import rel_core.timertable  # noqa: F401 - one of CLOCK_MODULES
from rel_core.registrar import Registrar


def open_fds() -> Optional[set]:
    """The fds this process has open, or None where they cannot be listed:
    Linux only (under Wine, /proc/self/fd is the Wine server's view, which
    other processes change)."""
    return set(os.listdir("/proc/self/fd")) if sys.platform == "linux" else None

WINDOWS = sys.platform == "win32"
POSIX_FDS_REASON = ("POSIX fds (a pipe, os.dup2 onto a socket's number): on Windows rel "
                    "watches sockets only; test_platform.py checks that it refuses the rest")
#: for the tests built on POSIX fds
posix_fds = pytest.mark.skipif(WINDOWS, reason=POSIX_FDS_REASON)

#: the engine's modules that read its clock (their ``time.monotonic``): a
#: test that fakes the clock replaces ``time`` in each of them
CLOCK_MODULES = ("rel_core.registrar", "rel_core.timertable")


def fake_engine_clock(monkeypatch: Any, monotonic: Callable[[], float]) -> Callable[[], None]:
    """Make the engine's clock ``monotonic`` (a function of no argument);
    returns a function that puts the real clock back (as does the end of the
    test, through ``monkeypatch``)."""
    fake = types.SimpleNamespace(monotonic=monotonic)
    for name in CLOCK_MODULES:
        monkeypatch.setattr(sys.modules[name], "time", fake)

    def restore() -> None:
        for name in CLOCK_MODULES:
            monkeypatch.setattr(sys.modules[name], "time", time)

    return restore


# Float rounding of deadline arithmetic (monotonic() + delay), not lateness: the
# "never early" checks allow this much.
SLACK = 1e-6


class Guard:
    """A timer that aborts the loop after ``limit`` seconds; ``expired`` says
    whether it had to. Delete it (``cancel()``) when a test wants dispatch()
    to end by itself."""

    def __init__(self, rel: Any, limit: float) -> None:
        self.rel = rel
        self.expired = False
        self.timer = rel.timeout(limit, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.rel.abort()

    def cancel(self) -> None:
        self.timer.delete()


def dispatch_to_end(rel: Any, limit: float = 5.0) -> None:
    """``rel.dispatch()``, expected to return by itself (nothing left
    registered) within ``limit`` seconds. The bound is a thread, not a rel
    timer (a timer would keep the loop running until it fired): past the
    limit it calls ``rel.abort()`` and the test fails."""
    expired: List[bool] = []

    def expire() -> None:
        expired.append(True)
        rel.abort()

    watchdog = threading.Timer(limit, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        rel.dispatch()
    finally:
        watchdog.cancel()
    assert not expired, "dispatch() was still running after %.1f s" % (limit,)


def run_in_thread(target: Callable[[], Any]) -> Tuple[threading.Thread, List[BaseException]]:
    """Start ``target`` in a daemon thread; its exception lands in the list."""
    errors: List[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: B036 - reported to the test
            errors.append(exc)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t, errors


class WaitCounter:
    """Wraps the registrar's ``_poller_wait`` (the poller primitive) to count
    the waits and record their timeouts; ``entered`` is set at each one."""

    def __init__(self, reg: Registrar) -> None:
        self.reg = reg
        self.timeouts: List[Optional[float]] = []
        self.entered = threading.Event()
        ensure_loop = getattr(reg, "_ensure_loop", None)
        if ensure_loop is not None:
            # The asyncio registrar: asyncio's loop does the waiting, in its
            # selector; rel's _poller_wait only hands a pass what woke it.
            target = ensure_loop()._selector
            self.real = target.select
            target.select = self._wait
            return
        self.real = reg._poller_wait
        reg._poller_wait = self._wait  # type: ignore[method-assign]

    def _wait(self, timeout: Optional[float]) -> Any:
        if getattr(self.reg, "_finish", True) is None:
            # asyncio's loop running before rel dispatches (starting the task
            # that awaits rel_core.aio.dispatch()): not a wait of rel's.
            return self.real(timeout)
        self.timeouts.append(timeout)
        self.entered.set()
        return self.real(timeout)

    @property
    def count(self) -> int:
        return len(self.timeouts)

    def wait_entered(self, at_least: int = 1, limit: float = 10.0) -> bool:
        """Block until the loop has entered the wait ``at_least`` times."""
        deadline = time.monotonic() + limit
        while self.count < at_least and time.monotonic() < deadline:
            self.entered.wait(0.01)
            self.entered.clear()
        return self.count >= at_least


def fill(sock: socket.socket) -> None:
    """Fill ``sock``'s send buffer: it is no longer writable (until its peer reads)."""
    try:
        while True:
            sock.send(b"\0" * 65536)
    except BlockingIOError:
        pass
