"""The timers of a registrar: arming, moving and deleting them from any thread,
and running those due.

:class:`TimerTable` is the part of :class:`~rel_core.registrar.Registrar`
that owns ``_timers`` (a :class:`~rel_core.timerheap.TimerHeap`). From the
loop's own thread a timer is pushed or cancelled at once. From another
thread while the loop runs, the call is queued for the loop (calls.py), and
until the loop applies it the timer's ``_intent`` answers ``pending()``
(True: an arm is on its way, False: a delete), so the caller sees its own
call at once; queued, a timer's calls fold into one, its latest.

The loop runs the timers due (``_run_timers``) after the I/O of its pass,
those armed before the pass only, in deadline order, FIFO among equal
deadlines; a truthy return re-arms a timer ``delay`` seconds after its
callback returned, unless the callback armed or deleted it itself.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from .calls import LoopThread, _get_ident, latest, loop_thread_only
from .errors import AbortBranch
from .listener import Timer
from .timerheap import TimerHeap


def _timer_key(args: Any) -> Any:
    return args[0]  # the Timer


class TimerTable(LoopThread):
    """The timer heap and its calls (see the module docstring)."""

    _timers: TimerHeap

    def _arm_timer(self, t: Timer, delay: float) -> None:
        self._move_timer(t, time.monotonic() + delay)  # measured from the caller's call

    def _move_timer(self, t: Timer, deadline: float) -> None:
        """Arm ``t`` for ``deadline`` (on ``time.monotonic()``), wherever it
        was: ``add()``, and ``Timer.expiration`` written."""
        if self._owner == _get_ident():  # the loop's own thread: _arm_timer_at, without its wrapper
            self._timers.push(t, deadline)
            t._intent = None
            return
        t._intent = True
        try:
            self._arm_timer_at(t, deadline, t._gen)
        except BaseException:
            t._intent = None
            raise

    @loop_thread_only(key=_timer_key, fold=latest)
    def _arm_timer_at(self, t: Timer, deadline: float, gen: Optional[int] = None) -> None:
        self._timers.push(t, deadline)
        if t._gen == gen:  # no later add()/delete() is on its way
            t._intent = None

    def _cancel_timer(self, t: Timer) -> None:
        if self._owner == _get_ident():  # the loop's own thread: _disarm_timer, without its wrapper
            self._timers.cancel(t)
            t._intent = None
            return
        t._intent = False
        self._disarm_timer(t, t._gen)

    @loop_thread_only(key=_timer_key, fold=latest)
    def _disarm_timer(self, t: Timer, gen: Optional[int] = None) -> None:
        self._timers.cancel(t)
        if t._gen == gen:
            t._intent = None

    def _timer_deadline(self, t: Timer) -> Optional[float]:
        """``t``'s deadline as its caller sees it (``Timer.expiration``): an arm
        or a delete made from another thread and not yet applied counts."""
        intent = t._intent
        if intent is False:
            return None
        if intent:
            # The newest call queued for ``t`` is its arm (the caller's own:
            # calls fold, the latest wins), ``(t, deadline, gen)``. The loop
            # may be taking an item meanwhile: read a copy of it.
            for item in reversed(list(self._calls)):
                for _method, args in item[:1]:
                    if args and args[0] is t:
                        return args[1]  # type: ignore[no-any-return]
            # applied meanwhile: the heap has it
        return self._timers.deadline_of(t)

    def _run_timers(self, now: float) -> None:
        """Run the timers due at ``now``, armed before this pass, in deadline order."""
        timers = self._timers
        mark = timers.mark()
        timer = timers.pop_due(now, mark)
        while timer is not None:
            self._run_timer(timer)
            # Usually nothing else is due: say so without a call.
            timer = timers.pop_due(now, mark) if timers.live and timers._heap[0][0] <= now else None

    def _run_timer(self, t: Timer) -> None:
        gen = t._gen
        try:
            keep = t.cb(*t.args)  # type: ignore[misc]
        except AbortBranch:
            self.log("AbortBranch")
            return
        if keep and t._gen == gen:
            self._timers.push(t, time.monotonic() + t.delay)  # type: ignore[operator]
