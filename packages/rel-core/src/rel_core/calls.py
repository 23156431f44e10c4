"""The loop's thread, and the queue of calls made from the others.

A registrar's tables belong to the thread that runs its loop. A public method
that changes them is decorated with :func:`loop_thread_only`: called from the
loop's thread, or while no loop runs, it runs at once; called from any other
thread while the loop runs, it is queued, the loop is woken, and the loop
thread applies it (:meth:`LoopThread._run_calls`) before any callback of its
next pass. Who owns the loop is decided under one lock, so a call is either
run or queued, never both and never lost.

Switching registrar (``initialize()`` again, :meth:`LoopThread._hand_over`)
is the third party to that lock: once it has marked the old registrar as
moved, every call that reaches the old one (a thread that held an old
watcher, or waited on the old lock meanwhile) is forwarded to the new one.

State kept here, on the registrar itself (the loop reads it without a call):

* ``_owner``: ident of the thread running ``loop()``/``dispatch()``, or None;
* ``_running``: ``dispatch()`` goes on after this pass;
* ``_calls``: ``deque[(method, args)]`` queued by other threads;
* ``_moved_to``: the registrar that replaced this one, or None;
* ``_closed``: closed without a successor: nothing can be armed here.
"""

from __future__ import annotations

import collections
import functools
import threading
from typing import TYPE_CHECKING, Any, Callable, Deque, Optional, Tuple

from .logs import Basic, logger

if TYPE_CHECKING:  # pragma: no cover
    from .wakeup import Waker

_get_ident = threading.get_ident

Call = Tuple[Callable[..., Any], Tuple[Any, ...]]


def loop_thread_only(method: Callable[..., Any],
                     forward_as: Optional[str] = None) -> Callable[..., Any]:
    """Run ``method`` now if no loop is running or we are its thread; otherwise
    queue it for the loop thread and wake the loop. On a registrar that was
    replaced, act on its successor: through its method named ``forward_as``
    (default: ``method``'s own name)."""
    forward_name = forward_as or method.__name__

    @functools.wraps(method)
    def wrapper(self: LoopThread, *args: Any) -> Any:
        if self._owner == _get_ident():  # the loop's own thread: no lock, no queue
            return method(self, *args)
        with self._lock:
            if self._moved_to is None:
                if self._owner is None:  # the loop cannot start while we hold the lock
                    if self._closed:
                        return _on_closed(method)
                    return method(self, *args)
                self._calls.append((method, args))
                queued = True
            else:
                queued = False
        if queued:
            self._waker.wake()
            return None
        return self._forward(forward_name, args)

    return wrapper


def _on_closed(method: Callable[..., Any]) -> None:
    """A call that reached a registrar closed without a successor: arming is
    an error (nothing would ever run it), disarming has nothing left to do."""
    if method.__name__.startswith("_arm"):
        raise RuntimeError("rel: this registrar was closed: %s() cannot arm anything on it"
                           % (method.__name__,))


class LoopThread(Basic):
    """Who runs the loop, and the calls queued for it (see the module docstring)."""

    _waker: Waker

    def __init__(self) -> None:
        self._calls: Deque[Call] = collections.deque()
        self._lock = threading.RLock()
        self._owner: Optional[int] = None
        self._running = False
        self._moved_to: Optional[Any] = None
        self._closed = False

    def _run_calls(self) -> None:
        """Apply the calls queued when this drain began (as asyncio's ready
        queue): those queued meanwhile wait for the next pass, so threads that
        keep queueing cannot keep the loop here."""
        calls = self._calls
        for _ in range(len(calls)):
            method, args = calls.popleft()
            try:
                method(self, *args)
            except Exception as exc:  # e.g. an fd closed between the call and now
                # The calling thread has moved on: log, and keep the loop (and
                # the other queued calls) going.
                logger.warning("rel: %s%r from another thread failed: %r",
                               method.__name__, args, exc)

    def _forward(self, name: str, args: Tuple[Any, ...]) -> Any:
        """This registrar was replaced by ``initialize()``: act on the new one."""
        new = self._moved_to
        if args and getattr(args[0], "registrar", None) is self:
            args[0].registrar = new
        return getattr(new, name)(*args)

    def _claim(self, dispatching: bool) -> Optional[Any]:
        """Make this thread the loop's owner; with ``dispatching``, also mark
        dispatch() running, in the same step, so a pause() from another thread
        that sees the owner is never undone. Returns the successor to run
        instead if this registrar was replaced (nothing claimed then)."""
        me = _get_ident()
        with self._lock:
            if self._moved_to is not None:
                return self._moved_to
            if self._owner == me:
                raise RuntimeError("rel: the loop cannot be run from inside one of its callbacks")
            if self._owner is not None:
                raise RuntimeError("rel: the loop is already running in another thread")
            if self._closed:
                raise RuntimeError("rel: this registrar was closed")
            self._owner = me
            if dispatching:
                self._running = True
        return None

    def _release(self) -> None:
        """Give up the loop. The calls queued while we were leaving are applied
        first; whatever happens then (an exception, a KeyboardInterrupt landing
        here), the loop is free again."""
        try:
            with self._lock:
                try:
                    self._run_calls()
                finally:
                    self._owner = None
        finally:
            self._owner = None

    def _hand_over(self, new: Any) -> Deque[Call]:
        """Mark this registrar as replaced by ``new`` (under its lock: from now
        on every call is forwarded) and return the calls still queued here.
        Call with the lock held. RuntimeError while the loop runs."""
        if self._owner is not None:
            raise RuntimeError("rel: cannot switch registrar while its loop is running")
        self._moved_to = new
        calls, self._calls = self._calls, collections.deque()
        return calls

    # -- control ------------------------------------------------------------------------
    def pause(self) -> None:
        """Make :meth:`dispatch` return after the current iteration, deleting nothing."""
        self._running = False
        if self._owner is not None and self._owner != _get_ident():
            self._waker.wake()

    def is_running(self) -> bool:
        """Whether :meth:`dispatch` is running."""
        return self._running
