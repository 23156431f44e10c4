"""The countdown, on rel's event loop.

This is the example of rel's API the rel documentation points to. The whole
program is three registrations and a loop (see :meth:`Timer.start`)::

    rel.signal(2, self.stop)                  # Ctrl-C (SIGINT) calls stop()
    rel.timeout(delay, self.update)           # update() in `delay` seconds
    rel.dispatch()                            # run until stop() calls rel.abort()

A ``timeout`` callback that returns a truthy value runs again after the same
delay (the player watch below does that). The countdown does not: counting
callbacks would drift, since each delay is measured from when the previous
callback ran. Instead, each :meth:`Timer.update` reads the monotonic clock,
shows the elapsed time, and arms a fresh one-shot timer for the next whole
step of *elapsed* time, so the display ticks on the second and the alarm goes
off on time, however long a run lasts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any, Optional, TextIO

import rel_core as rel

from . import display
from .alarm import RT_MEDIA, bell, play, silence

if TYPE_CHECKING:
    from rel_core.listener import Signal
    from rel_core.listener import Timer as Timeout

PLAYER_POLL = 0.1  # seconds between two looks at a playing alarm
#: Windows' Ctrl-Break (SIGBREAK): a second way to stop there, and the one a
#: parent can send (CTRL_BREAK_EVENT) to a console process group
SIGBREAK: Optional[int] = getattr(signal, "SIGBREAK", None)


def whole(value: Any, name: str) -> int:
    """``value`` as a non-negative int, else ValueError naming ``name``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a whole number, not %r" % (name, value))
    if number < 0:
        raise ValueError("%s must not be negative, not %r" % (name, value))
    return number


class Timer:
    """A countdown of ``s`` seconds + ``m`` minutes + ``h`` hours.

    ``interval``: when stdout is not a terminal, print a line every ``interval``
    seconds (0: none). On a terminal, a live line is redrawn every second.
    ``mediapath``: the folder holding the alarm sounds. ``quiet``: print only the
    end. ``sound``: False skips the alarm. ``out``: where to print (stdout).

    Raises ValueError for a negative or non-integer amount, or a zero countdown.
    After :meth:`start` returns, ``finished`` tells whether the time ran out and
    ``interrupted`` whether it was stopped first.
    """

    def __init__(self, s: Any = 0, m: Any = 0, h: Any = 0, interval: Any = 0,
                 mediapath: Optional[str] = RT_MEDIA, *, quiet: bool = False,
                 sound: bool = True, out: Optional[TextIO] = None) -> None:
        s, m, h = whole(s, "seconds"), whole(m, "minutes"), whole(h, "hours")
        self.interval = whole(interval, "interval")
        self.goal = s + 60 * m + 3600 * h
        if not self.goal:
            raise ValueError("nothing to count down: give some seconds, minutes or hours")
        self.media = mediapath
        self.sound = sound
        self.out: TextIO = out if out is not None else sys.stdout
        self.display = display.choose(self.out, self.goal, self.interval, quiet)
        self.started: Optional[float] = None  # time.monotonic() at start()
        self.finished = False
        self.interrupted = False
        self._due = 0.0  # the elapsed time the armed timer is for
        self._ticker: Optional[Timeout] = None
        self._sigint: Optional[Signal] = None
        self._sigbreak: Optional[Signal] = None
        self._player: Optional[subprocess.Popen] = None

    @property
    def elapsed(self) -> float:
        """Seconds since :meth:`start`, from the monotonic clock."""
        return 0.0 if self.started is None else time.monotonic() - self.started

    @property
    def count(self) -> int:
        """Whole seconds elapsed, at most ``goal`` (rel's ``Timer.count``)."""
        return min(int(self.elapsed), self.goal)

    def start(self) -> None:
        """Count down on rel's loop; return when the time is up and the alarm
        has played, or when stopped (Ctrl-C)."""
        self.started = time.monotonic()
        self._sigint = rel.signal(2, self.stop)
        if SIGBREAK is not None:
            self._sigbreak = rel.signal(SIGBREAK, self.stop)
        self.display.begin()
        self._schedule(0.0)
        rel.dispatch()

    def _schedule(self, elapsed: float) -> None:
        """Arm a one-shot timer for the display's next step or the end,
        whichever comes first."""
        step = self.display.step
        due = float(self.goal)
        if step:
            due = min(due, (elapsed // step + 1) * step)
        self._due = due
        self._ticker = rel.timeout(due - elapsed, self.update)

    def update(self) -> None:
        """One tick: show the elapsed time, or sound the alarm when it is up.
        Returns None, so rel does not re-arm this timer: _schedule() arms the next."""
        elapsed = self.elapsed
        if elapsed < self._due:  # never expected of rel; cheap to be sure
            self._ticker = rel.timeout(self._due - elapsed, self.update)
        elif elapsed >= self.goal:
            self.alarm()
        else:
            self.display.show(elapsed)
            self._schedule(elapsed)

    def alarm(self) -> None:
        """Time's up: say so, play a random file of the media folder (the
        terminal bell without one, or without a player), then stop."""
        self.finished = True
        self.display.end()
        if self.sound:
            self._player, problem = play(self.media)
            if self._player is not None:
                # A truthy return re-arms a rel timer: look again until it is done.
                self._ticker = rel.timeout(PLAYER_POLL, self._player_playing)
                return
            if problem:
                print("rtimer: %s: rang the bell instead" % (problem,), file=sys.stderr)
            bell(self.out)
        self._quit()

    def _player_playing(self) -> bool:
        if self._player is not None and self._player.poll() is None:
            return True
        self._quit()
        return False

    def stop(self) -> None:
        """Stop (SIGINT lands here): before the end, say how long it ran; during
        the alarm, silence it. Then leave rel's loop."""
        if not self.finished:
            self.interrupted = True
            self.display.stopped(self.elapsed)
        self._quit()

    def _quit(self) -> None:
        """Silence the player, drop our timer and signal watchers, stop rel's
        loop (rel.abort() also drops every I/O watcher, as rel's Timer did)."""
        if self._player is not None:
            silence(self._player)
        if self._ticker is not None:
            self._ticker.delete()
        for watcher in (self._sigint, self._sigbreak):
            if watcher is not None:
                watcher.delete()  # gives the signal its previous handler back
        if rel.is_running():
            rel.abort()  # dispatch() returns
