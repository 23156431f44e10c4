"""The ``asyncio`` registrar's third floor: running, and waiting for rel to end.

``rel.dispatch()`` and ``rel.loop()`` run the bound asyncio loop until rel is
done (``_serve``); ``await rel_core.aio.dispatch()`` waits for the same end
inside a running loop (``_await_done``). Either way ``_finish`` is what ends
the wait, and a callback's exception ends it too (``_failed``), as on every
registrar; with nothing waiting, the loop's exception handler gets it.

``rel.dispatch()`` and ``rel.loop()`` cannot run inside a running asyncio loop
(they would block it, or nest loops): they raise RuntimeError naming the
awaitable. Inside a pass of a dispatching rel, ``rel.dispatch()`` does
nothing, as on every registrar.

An fd closed while registered is forgotten by epoll without a word, and by
asyncio's loop too: while something waits for rel to end and no timer is
armed, the loop looks for such fds once IDLE_AUDIT seconds pass with no pass
of rel's, as the other registrars' silent waits do. The clock is a daemon
thread (``_IdleClock``) that asks the loop by ``call_soon_threadsafe``, not a
``call_later``: a pending handle makes every select of asyncio's take a
timeout, which cost each wake-up 3-4 µs here (``nox -s bench``, aioloop), and
rel adds no handle to asyncio's. Nothing waiting for rel to end: no audit, no
thread.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Optional

from . import registrar as _engine
from .aio_signals import SignalsOnLoop

_get_ident = threading.get_ident


class _IdleClock:
    """The idle audit's clock while something waits for rel to end: a daemon
    thread that, every IDLE_AUDIT seconds with no pass of rel's in between,
    asks the loop for the audit (``call_soon_threadsafe``, the one way into
    the loop from another thread). It stands where a ``call_later`` handle
    would, and is cancelled as one is."""

    __slots__ = ("_stop",)

    def __init__(self, reg: RunsOnLoop, loop: asyncio.AbstractEventLoop) -> None:
        self._stop = threading.Event()
        threading.Thread(target=self._run, args=(reg, loop), name="rel-idle-audit", daemon=True).start()

    def _run(self, reg: RunsOnLoop, loop: asyncio.AbstractEventLoop) -> None:
        seen = reg.tick
        while not self._stop.wait(_engine.IDLE_AUDIT):
            if reg.tick != seen:  # a pass ran: not idle
                seen = reg.tick
                continue
            try:
                loop.call_soon_threadsafe(reg._on_idle, self)
            except RuntimeError:  # the loop closed
                return

    def cancel(self) -> None:
        self._stop.set()


class RunsOnLoop(SignalsOnLoop):
    """Running the bound loop for rel, and waiting for rel to end (see the module docstring)."""

    _in_pass: bool
    _once: bool  # loop(): finish after one pass
    _error: Optional[BaseException]  # a callback's, for whoever waits
    _tasks: int  # coroutines started by rel_core.aio.run(), not delivered yet
    _idle_handle: Optional[_IdleClock]  # the closed-fd audit's clock

    def _place_idle(self) -> None:
        # Only while something waits for rel to end: the audit is how a wait
        # learns that nothing is left. Rel's watchers running in an asyncio
        # program that awaits nothing of rel's get no wake-up beyond asyncio's own.
        loop = self._loop
        if loop is not None and self._finish is not None:
            self._idle_handle = _IdleClock(self, loop)

    def _stop_idle(self) -> None:
        clock, self._idle_handle = self._idle_handle, None
        if clock is not None:
            clock.cancel()

    def _on_idle(self, clock: _IdleClock) -> None:
        """IDLE_AUDIT seconds with no pass: if no timer is armed, look for fds
        closed while registered (see the module docstring)."""
        if clock is self._idle_handle and self._finish is not None and not self._timers.live:
            self._audit_fds()
            self._pass()  # may end rel; runs the ondrop hooks' timers

    def _failed(self, exc: BaseException) -> None:
        """A callback raised ``exc``: it ends the dispatch (or awaitable) that
        waits, as on every registrar; with nobody waiting, the loop's exception
        handler gets it, as for any asyncio callback."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        if self._finish is not None and self._error is None:
            self._error = exc
            self._running = False
            self._end()
        elif self._loop is not None:
            self._loop.call_exception_handler({
                "message": "rel: exception in a callback (nothing awaits rel_core.aio.dispatch())",
                "exception": exc,
            })

    def _end(self) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish()

    def _take_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def dispatch(self) -> None:
        """Run the asyncio loop until rel is done: :meth:`abort`, :meth:`pause`
        or nothing registered. Inside a running asyncio loop: RuntimeError
        (``await rel_core.aio.dispatch()`` is the way there)."""
        if self._moved_to is not None:
            return self._moved_to.dispatch()
        if self._running:
            return None  # already dispatching: in a callback, another thread, or awaited
        if not self.has_work():
            self._sync_loop("dispatch", make=False)
            return None
        loop = self._sync_loop("dispatch")
        if loop.is_running():
            return None  # running in another thread
        super().dispatch()  # claims the loop, runs _dispatching, releases it
        self._take_error()
        return None

    def _dispatching(self) -> None:
        loop = self._loop
        assert loop is not None  # bound by dispatch()'s _sync_loop
        self._serve(loop, once=False)

    def loop(self, nonblock: bool = False) -> None:
        """Run the asyncio loop until one pass of rel has run (one that does
        not wait, with ``nonblock`` or when nothing is registered)."""
        if self._moved_to is not None:
            return self._moved_to.loop(nonblock)
        if self._in_pass:  # as on every registrar (the base's _claim says so)
            raise RuntimeError("rel: the loop cannot be run from inside one of its callbacks")
        loop = self._sync_loop("loop")
        if loop.is_running():
            raise RuntimeError("rel: the loop is already running in another thread")
        successor = self._claim(False)
        if successor is not None:
            return successor.loop(nonblock)  # type: ignore[no-any-return]
        try:
            if nonblock or not self.has_work():
                loop.call_soon(self._pass)
            self._serve(loop, once=True)
        finally:
            self._release()
        self._take_error()
        return None

    def _serve(self, loop: asyncio.AbstractEventLoop, once: bool) -> None:
        self._error = None
        self._once = once
        self._finish = loop.stop
        if self._calls:
            loop.call_soon(self._pass)
        if self._idle_handle is None and self._io_count and not self._timers.live:
            self._place_idle()
        try:
            loop.run_forever()
        finally:
            self._finish = None
            self._once = False
            self._stop_idle()

    async def _await_done(self) -> None:
        """The body of ``rel_core.aio.dispatch()``."""
        loop = asyncio.get_running_loop()
        self._attach()
        if self._loop is not loop:
            raise RuntimeError("rel runs on another asyncio loop, running in another thread")
        if self._running:
            raise RuntimeError("rel is already dispatching (rel.dispatch() or another "
                               "await rel_core.aio.dispatch())")
        if not self.has_work():
            return
        done = loop.create_future()

        def finish() -> None:
            if not done.done():
                error, self._error = self._error, None
                if error is not None:
                    done.set_exception(error)
                else:
                    done.set_result(None)

        self._error = None
        self._running = True
        self._owner = _get_ident()
        self._finish = finish
        if self._calls:
            loop.call_soon(self._pass)
        if self._idle_handle is None and self._io_count and not self._timers.live:
            self._place_idle()
        try:
            await done
        finally:
            if self._finish is finish:
                self._finish = None
            self._running = False
            self._stop_idle()

    def has_work(self) -> bool:
        return bool(self._tasks) or super().has_work()
