"""The loop's thread, and the queue of calls made from the others.

A registrar's tables belong to the thread that runs its loop. A public method
that changes them is decorated with :func:`loop_thread_only`: called from the
loop's thread, or while no loop runs, it runs at once; called from any other
thread while the loop runs, it is queued, the loop is woken, and the loop
thread applies it (:meth:`LoopThread._run_calls`) before any callback of its
next pass. Who owns the loop is decided under one lock, so a call is either
run or queued, never both and never lost.

Calls from other threads are bounded (DESIGN.md, engine rule 7):

* What cancels out collapses before it costs a system call. A call given a
  ``key`` (a timer; an fd and the kind of watcher on it) is folded into the
  call queued for the same key, if any, by the ``fold`` given with it: what
  is queued is then the key's latest intended state, in the place of the
  first call. A timer's latest ``add()``/``delete()`` is all that counts;
  for I/O, an arm of a watcher replaces whatever the fd's slot of its kind
  held, so an arm is all that remains of what came before it, and an arm
  then a delete of the same watcher leaves only "empty this slot": nothing
  at all (no poller call) when the slot was empty (iotable.py's
  ``_fold_io``). A call without a key (``abort()``, ``init()``) ends the
  folding: nothing queued after it folds into a call before it. Calls on
  different keys commute, so the loop applies what it would have applied
  call by call; one difference is left, among timers due at the very same
  instant: a folded timer keeps its first call's place.
* A thread that outruns the loop waits, never the loop. The queue holds at
  most :data:`MAX_QUEUED` calls; a thread whose call would go beyond waits
  (a :class:`threading.Condition` on the registrar's lock, notified by the
  loop after each drain that found it full or found someone waiting). The
  waiting thread looks again every :data:`ROOM_POLL` seconds, so it never
  waits on a loop that is gone: once the loop stops (abort, pause, the end
  of ``dispatch()``, an asyncio loop that stopped), its call runs at once,
  as any call made while no loop runs; once the registrar was replaced, it
  goes to the new one. The loop's own thread never waits: its calls run at
  once, however many. Two cases queue beyond the bound rather than wait,
  because waiting could deadlock: a call made while the calling thread holds
  the registrar's lock already (a signal handler or a finalizer run inside
  one of its own calls), and a call that has waited :data:`STALL` seconds
  with the loop applying nothing meanwhile (a callback blocked, perhaps on
  a lock that the waiting thread holds: BuffWriter's, for one). A wake-up is
  sent once per drain, not once per call: a flood of calls costs the loop
  one wake-up, and asyncio's loop one handle, per pass.

The queue is lock-free for the loop: it pops ``[call]`` items off a deque and
takes each item's call with ``list.pop()``; a thread folding a call into an
item writes ``item[0]``, which raises IndexError once the loop took it (the
thread then queues its call anew, after it). Under the GIL both are atomic.

Switching registrar (``initialize()`` again, :meth:`LoopThread._hand_over`)
is the third party to that lock: once it has marked the old registrar as
moved, every call that reaches the old one (a thread that held an old
watcher, or waited on the old lock meanwhile) is forwarded to the new one.

State kept here, on the registrar itself (the loop reads it without a call):

* ``_owner``: ident of the thread running ``loop()``/``dispatch()``, or None;
* ``_running``: ``dispatch()`` goes on after this pass;
* ``_calls``: ``deque[[(method, args)]]`` queued by other threads;
* ``_folds``: ``{key: item of _calls}``, the item a call with that key folds
  into (since the last drain began or the last call without a key);
* ``_woken``: a wake-up was sent since the last drain began;
* ``_drains``: drains so far; ``_waiting``: threads waiting for room;
* ``_moved_to``: the registrar that replaced this one, or None;
* ``_closed``: closed without a successor: nothing can be armed here.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Hashable, List, Optional, Tuple

from .logs import Basic, logger

if TYPE_CHECKING:  # pragma: no cover
    from .wakeup import Waker

_get_ident = threading.get_ident

Call = Tuple[Callable[..., Any], Tuple[Any, ...]]
#: ``fold(queued, new)``: the one call that does what ``queued`` then ``new``
#: do, or None when they must stay two calls
Fold = Callable[[Call, Call], Optional[Call]]
Key = Callable[[Tuple[Any, ...]], Hashable]

#: Most calls queued for the loop from other threads (after folding): a thread
#: whose call would go beyond waits until the loop has applied them. A few
#: thousand: one drain of them costs the loop milliseconds, and holds well
#: under a megabyte.
MAX_QUEUED = 4096
#: A thread waiting for room looks at the loop's state again this often (seconds).
ROOM_POLL = 0.05
#: A thread that has waited this long (seconds) while the loop applied nothing
#: queues its call beyond the bound: the loop may be blocked on that thread.
STALL = 1.0


def loop_thread_only(method: Optional[Callable[..., Any]] = None, forward_as: Optional[str] = None,
                     key: Optional[Key] = None, fold: Optional[Fold] = None) -> Any:
    """Run ``method`` now if no loop is running or we are its thread; otherwise
    queue it for the loop thread and wake the loop (waiting first while the
    queue is full). On a registrar that was replaced, act on its successor:
    through its method named ``forward_as`` (default: ``method``'s own name).

    ``key(args)`` and ``fold``: a call whose key matches a call still queued
    is folded into it (see the module docstring). Without ``method``, returns
    the decorator."""
    if method is None:
        return lambda m: loop_thread_only(m, forward_as, key, fold)
    forward_name = forward_as or method.__name__

    @functools.wraps(method)
    def wrapper(self: LoopThread, *args: Any) -> Any:
        if self._owner == _get_ident():  # the loop's own thread: no lock, no queue
            return method(self, *args)
        lock = self._lock
        # Inside a call of its own (a signal handler, a finalizer): waiting
        # would let go of the lock that call holds. Never wait then.
        force = lock._is_owned()  # type: ignore[attr-defined]
        call = (method, args)
        stall: List[float] = []
        with lock:
            while self._moved_to is None:
                if self._owner is None:  # the loop cannot start while we hold the lock
                    if self._closed:
                        return _on_closed(method)
                    if self._calls:
                        # Queued while a loop ran, and not applied (an asyncio
                        # loop stopped by its own runner): they come first.
                        self._run_calls()
                    return method(self, *args)
                if self._enqueue(call, None if key is None else key(args), fold, force):
                    wake = not self._woken
                    self._woken = True
                    break
                force = self._wait_for_room(stall)
            else:
                wake = None
        if wake is None:
            return self._forward(forward_name, args)
        if wake:
            self._waker.wake()
        return None

    return wrapper


def _on_closed(method: Callable[..., Any]) -> None:
    """A call that reached a registrar closed without a successor: arming is
    an error (nothing would ever run it), disarming has nothing left to do."""
    if method.__name__.startswith("_arm"):
        raise RuntimeError("rel: this registrar was closed: %s() cannot arm anything on it"
                           % (method.__name__,))


def latest(queued: Call, new: Call) -> Call:
    """The fold of calls whose latest alone counts (a timer's add/delete)."""
    return new


class LoopThread(Basic):
    """Who runs the loop, and the calls queued for it (see the module docstring)."""

    _waker: Waker

    def __init__(self) -> None:
        self._calls: Deque[List[Call]] = collections.deque()
        self._folds: Dict[Hashable, List[Call]] = {}
        self._lock = threading.RLock()
        self._room = threading.Condition(self._lock)  # notified when the queue has room again
        self._woken = False
        self._drains = 0
        self._waiting = 0
        self._owner: Optional[int] = None
        self._running = False
        self._moved_to: Optional[Any] = None
        self._closed = False

    def _enqueue(self, call: Call, key: Optional[Hashable], fold: Optional[Fold],
                 force: bool) -> bool:
        """Fold ``call`` into the call queued for ``key``, or queue it (under
        the lock). False, and nothing queued, if the queue is full (unless
        ``force``)."""
        folds = self._folds
        if key is not None:
            item = folds.get(key)
            if item is not None:
                try:
                    folded = fold(item[0], call)  # type: ignore[misc]
                    if folded is not None:
                        item[0] = folded
                        return True
                except IndexError:  # the loop took that call meanwhile: ours goes after it
                    pass
        calls = self._calls
        if len(calls) >= MAX_QUEUED and not force:
            return False
        item = [call]
        calls.append(item)
        if key is None:
            folds.clear()  # nothing after this call folds into one before it
        else:
            folds[key] = item
        return True

    def _wait_for_room(self, stall: List[float]) -> bool:
        """The queue is full: wait (under the lock, which the wait lets go)
        until the loop drains it, or ROOM_POLL seconds. True if the caller
        should queue beyond the bound: the loop applied nothing for STALL
        seconds while we waited (``stall`` is [drains, since], kept between
        calls)."""
        now = time.monotonic()
        if not stall or stall[0] != self._drains:
            stall[:] = [self._drains, now]
        elif now - stall[1] >= STALL:
            logger.warning("rel: the loop applied no call from other threads for %.1f s: "
                           "a call is queued beyond the bound of %d", STALL, MAX_QUEUED)
            return True
        self._waiting += 1
        try:
            self._room.wait(ROOM_POLL)
        finally:
            self._waiting -= 1
        return False

    def _run_calls(self) -> None:
        """Apply the calls queued when this drain began (as asyncio's ready
        queue): those queued meanwhile wait for the next pass, so threads that
        keep queueing cannot keep the loop here. Threads waiting for room are
        told once it is done."""
        calls = self._calls
        self._woken = False  # a call queued from now on wakes the loop again
        self._drains += 1
        if self._folds:
            self._folds.clear()  # (those queued from now on fold among themselves)
        count = len(calls)
        for _ in range(count):
            method, args = calls.popleft().pop()
            try:
                method(self, *args)
            except Exception as exc:  # e.g. an fd closed between the call and now
                # The calling thread has moved on: log, and keep the loop (and
                # the other queued calls) going.
                logger.warning("rel: %s%r from another thread failed: %r",
                               method.__name__, args, exc)
        if self._waiting or count >= MAX_QUEUED:
            with self._lock:
                self._room.notify_all()

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
                    self._room.notify_all()  # who waits for room: no loop now, run at once
        finally:
            self._owner = None

    def _hand_over(self, new: Any) -> Deque[List[Call]]:
        """Mark this registrar as replaced by ``new`` (under its lock: from now
        on every call is forwarded) and return the calls still queued here.
        Call with the lock held. RuntimeError while the loop runs."""
        if self._owner is not None:
            raise RuntimeError("rel: cannot switch registrar while its loop is running")
        self._moved_to = new
        calls, self._calls = self._calls, collections.deque()
        self._folds.clear()
        self._room.notify_all()  # who waits for room: forwarded to ``new`` now
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
