"""The ``asyncio`` registrar's first floor: which asyncio loop rel runs on.

The running loop of the thread that creates the registrar, arms a watcher or
awaits :func:`rel_core.aio.dispatch`, if there is one; otherwise the loop it
was bound to, as long as that one is not closed; otherwise a new one (see
``_new_loop``), which ``rel.dispatch()`` runs until rel is done, and which
the registrar closes when it moves to another loop or is closed itself. Binding
to a loop moves every watcher to it (``_LoopSelector.bind``), the timer heap's
handle and the signals asyncio owns for rel with them.

``_owner`` (the loop's thread, for calls.py) is true only while that loop
runs or rel dispatches: asyncio says when a loop stops to no one but its
runner, so a stopped loop must not leave a stale owner behind.

What the floors above provide (aio_signals.py, aio_running.py,
asyncio_registrar.py) is named at the end of the class.
"""

from __future__ import annotations

import asyncio
import threading
from asyncio.events import _get_running_loop
from typing import Any, Callable, Optional, Tuple

from . import _aiocompat
from .selector import SelectorRegistrar

_get_ident = threading.get_ident

#: the fds that woke a pass, as a poller would report them: ((fd, events), ...)
Ready = Tuple[Tuple[int, int], ...]


def _new_loop() -> asyncio.AbstractEventLoop:
    """``asyncio.new_event_loop()`` (the policy's, while Python has policies:
    uvloop's once installed); on Windows a selector loop where that would be
    the proactor loop, which has no ``add_reader``."""
    if _aiocompat.proactor_by_default():
        return asyncio.SelectorEventLoop()
    return asyncio.new_event_loop()



class LoopBound(SelectorRegistrar):
    """rel's engine bound to one asyncio loop at a time (see the module docstring)."""

    _loop: Optional[asyncio.AbstractEventLoop]
    _own_loop: Optional[asyncio.AbstractEventLoop]  # made here, closed here
    _owner_ident: Optional[int]
    _finish: Optional[Callable[[], None]]  # ends a dispatch()/loop()/await
    _timer_handle: Optional[asyncio.TimerHandle]
    _timer_due: Optional[float]
    _loop_sigs: Any  # aio_signals.LoopSignals: the signals asyncio's loop owns for rel

    def use_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run on ``loop`` from now on (e.g. ``uvloop.new_event_loop()``);
        every watcher moves to it. Not while rel dispatches."""
        if self._finish is not None or self._running:
            raise RuntimeError("rel: cannot change loops while rel dispatches")
        self._bind(loop)

    # The base engine queues a call from another thread while ``_owner`` names
    # the loop's thread. Here that is true only while the loop runs (or rel is
    # dispatching): asyncio says when a loop stops to no one but its runner,
    # so a stopped loop must not leave a stale owner behind.
    @property  # type: ignore[override]
    def _owner(self) -> Optional[int]:
        owner = self._owner_ident
        if owner is None or self._finish is not None or self._running:
            return owner
        loop = self._loop
        return owner if loop is not None and loop.is_running() else None

    @_owner.setter
    def _owner(self, ident: Optional[int]) -> None:
        self._owner_ident = ident

    def _attach(self) -> None:
        """Bind to this thread's running loop when ours is not running; forget
        ours once it is closed."""
        running = _get_running_loop()
        loop = self._loop
        if running is not None:
            if running is not loop and (loop is None or not loop.is_running()):
                self._bind(running)
        elif loop is not None:
            if loop.is_closed():
                self._unbind()

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        self._attach()
        loop = self._loop
        if loop is None:
            loop = self._own_loop = _new_loop()
            self._bind(loop)
        return loop

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if isinstance(loop, getattr(asyncio, "ProactorEventLoop", ())):
            raise RuntimeError(
                "rel: the 'asyncio' registrar needs a loop with add_reader(), and Windows' "
                "proactor loop has none: run a selector loop (asyncio.SelectorEventLoop, "
                "or asyncio.run(main(), loop_factory=asyncio.SelectorEventLoop))")
        with self._lock:
            old = self._loop
            self._unbind()
            self._loop = loop
            if loop.is_running():  # in this thread: callers pass only such a loop
                self._owner = _get_ident()
            if self._loop_sigs.saved and old is not loop:
                self._move_signals(old, loop)
            for fd, exc in self._selector.bind(loop):  # type: ignore[attr-defined]
                self._kmask.pop(fd, None)
                self._drop_fd(fd, exc)
            self._sync_timer()
            if self._calls or self._sigq or self._carry:
                loop.call_soon(self._pass)

    def _unbind(self) -> None:
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            self._loop = None
            if self._finish is None:
                self._owner = None
            if self._timer_handle is not None:
                self._timer_handle.cancel()
                self._timer_handle = self._timer_due = None
            self._selector.unbind()  # type: ignore[attr-defined]
            self._stop_idle()
            if loop is self._own_loop and not loop.is_running():
                self._own_loop = None
                loop.close()

    def _loop_gone(self, loop: asyncio.AbstractEventLoop) -> None:
        """``loop`` closed under us while another thread queued a call: with no
        loop thread left, that call is applied here."""
        with self._lock:
            if self._loop is loop:
                self._unbind()
                self._run_calls()

    def _sync_loop(self, what: str, make: bool = True) -> asyncio.AbstractEventLoop:
        if _get_running_loop() is not None:
            raise RuntimeError(
                "rel.%s() was called inside a running asyncio loop, which it would block: "
                "on the 'asyncio' registrar rel's watchers already fire as that loop runs; "
                "`await rel_core.aio.dispatch()` waits until rel is done" % (what,))
        return self._ensure_loop() if make else None  # type: ignore[return-value]

    def _arm_io(self, w: Any) -> None:
        self._attach()
        super()._arm_io(w)

    # -- provided by the floors above ---------------------------------------------------
    def _sync_timer(self) -> None:
        """Place the loop's call_at handle at the timer heap's earliest deadline."""
        raise NotImplementedError

    def _pass(self, ready: Ready = ()) -> None:
        """One pass of the base engine over ``ready``."""
        raise NotImplementedError

    def _move_signals(self, old: Optional[asyncio.AbstractEventLoop],
                      new: asyncio.AbstractEventLoop) -> None:
        """The signals asyncio owned for rel go from ``old`` to ``new``."""
        raise NotImplementedError

    def _stop_idle(self) -> None:
        """Cancel the idle audit's clock."""
        raise NotImplementedError
