"""The timer queue: a binary heap of ``(deadline, seq, timer)`` entries.

``seq`` comes from one counter, so timers with equal deadlines pop in the order
they were armed (FIFO), and no comparison ever reaches the timer object itself.
Deletion is lazy: a timer remembers the ``seq`` of its live entry, and an entry
whose ``seq`` no longer matches is dropped when it reaches the top. Re-arming
an armed timer is a push, and leaves its old entry stale the same way. Stale
entries are swept out in one pass once they are both numerous and the
majority, whether a cancel or a re-arm made them: so the heap holds at most
about twice the live timers (plus MIN_CANCELLED_TO_SWEEP), and the sweep's
O(n) is paid once per n stale entries: O(log n) per re-arm, amortized. The
idle-timeout pattern (one watchdog re-armed at every request) stays small.

Invariant: the top entry is always live (stale ones are popped the moment they
surface), so whenever ``live`` is non-zero ``_heap[0][0]`` is the next deadline.
The loop reads it there directly, twice per pass.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, List, Optional, Tuple

# Below this many cancelled entries a sweep is not worth its O(n) pass
# (asyncio's _MIN_SCHEDULED_TIMER_HANDLES is 100).
MIN_CANCELLED_TO_SWEEP = 100
# ...and they must also be this share of the heap (asyncio uses 0.5).
CANCELLED_SHARE_TO_SWEEP = 0.5

Entry = Tuple[float, int, Any]


class TimerHeap:
    """Deadlines on the monotonic clock; O(log n) push, O(1) cancel."""

    __slots__ = ("_heap", "_seq", "_cancelled", "live")

    def __init__(self) -> None:
        self._heap: List[Entry] = []  # [(deadline, seq, timer)]
        self._seq = itertools.count()
        self._cancelled = 0
        self.live = 0  # entries whose timer still owns them

    def push(self, timer: Any, deadline: float) -> None:
        """Arm ``timer`` for ``deadline``; an earlier entry of it goes stale."""
        rearmed = timer._seq is not None
        if rearmed:
            self._cancelled += 1
        else:
            self.live += 1
        seq = next(self._seq)
        timer._seq = seq
        heapq.heappush(self._heap, (deadline, seq, timer))
        if rearmed:
            if self._too_stale():
                self._sweep()
            else:
                self._drop_stale_top()  # its old entry may have been the top

    def _too_stale(self) -> bool:
        return (self._cancelled > MIN_CANCELLED_TO_SWEEP
                and self._cancelled > CANCELLED_SHARE_TO_SWEEP * len(self._heap))

    def cancel(self, timer: Any) -> None:
        """Disarm ``timer``; its entry is dropped when it surfaces or at a sweep."""
        if timer._seq is None:
            return
        timer._seq = None
        self.live -= 1
        self._cancelled += 1
        if self._too_stale():
            self._sweep()
        elif self._heap[0][2] is timer:
            self._drop_stale_top()

    def _drop_stale_top(self) -> None:
        heap = self._heap
        while heap and heap[0][2]._seq != heap[0][1]:
            heapq.heappop(heap)
            self._cancelled -= 1

    def _sweep(self) -> None:
        self._heap = [e for e in self._heap if e[2]._seq == e[1]]
        heapq.heapify(self._heap)
        self._cancelled = 0

    def next_deadline(self) -> Optional[float]:
        """The earliest live deadline, or None when no timer is armed."""
        return self._heap[0][0] if self._heap else None

    def deadline_of(self, timer: Any) -> Optional[float]:
        """``timer``'s deadline, or None when it is not armed here. O(n): for
        users reading ``Timer.expiration``, never for the loop. Safe from
        another thread (it reads a copy of the heap)."""
        seq = timer._seq
        if seq is None:
            return None
        for deadline, s, _t in list(self._heap):
            if s == seq:  # seqs are unique: the timer's live entry, not a stale one of it
                return deadline
        return None

    def mark(self) -> int:
        """A sequence number no entry armed from now on can be below."""
        return next(self._seq)

    def pop_due(self, now: float, before_seq: int) -> Any:
        """Pop and disarm the first live timer due at ``now`` and armed before
        ``before_seq``; None when there is none. Entries armed during this pass
        wait for the next one, so a zero-delay timer that re-arms itself cannot
        starve I/O."""
        heap = self._heap
        if not heap:
            return None
        deadline, seq, timer = heap[0]  # live: see the module docstring
        if deadline > now or seq >= before_seq:
            return None
        heapq.heappop(heap)
        timer._seq = None
        self.live -= 1
        while heap and heap[0][2]._seq != heap[0][1]:  # _drop_stale_top(), inlined
            heapq.heappop(heap)
            self._cancelled -= 1
        return timer

    def clear(self) -> List[Any]:
        """Disarm every timer; return those that were armed."""
        armed = [t for d, s, t in self._heap if t._seq == s]
        for timer in armed:
            timer._seq = None
        self._heap = []
        self._cancelled = 0
        self.live = 0
        return armed

    def __len__(self) -> int:
        return self.live
