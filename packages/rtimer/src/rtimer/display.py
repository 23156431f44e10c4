"""How the countdown looks.

Three displays, one per situation, all fed the same calls by :class:`rtimer.Timer`:

- :class:`LiveLine` when stdout is a terminal: one line with a progress bar,
  elapsed and remaining time, redrawn in place every second.
- :class:`Lines` when stdout is not a terminal (piped, logged): a plain line at
  each increment, no control codes.
- :class:`Quiet` for ``--quiet``: only the end.

``step`` tells the timer how often (in seconds of elapsed time) to call
:meth:`Display.show`; 0 means never.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

#: Windows' console takes escape sequences only when a program turns them on
#: (ENABLE_VIRTUAL_TERMINAL_PROCESSING); a carriage return and a line padded
#: to the width erase the old line on every console.
WINDOWS = sys.platform == "win32"
#: redraw the live line in place: carriage return, then erase to the end of
#: the line (on Windows: the line is padded instead)
REDRAW = "\r" if WINDOWS else "\r\x1b[K"
BAR_WIDTH = 40  # at most; less on a narrow terminal
MIN_BAR_WIDTH = 10  # below this, the line goes without a bar
FALLBACK_COLUMNS = 80  # shutil.get_terminal_size()'s own fallback


def clock(seconds: float, hours: bool = False) -> str:
    """``M:SS``, or ``H:MM:SS`` with ``hours`` or from one hour up; the
    fraction of a second is dropped."""
    h, rest = divmod(int(seconds), 3600)
    m, s = divmod(rest, 60)
    if hours or h:
        return "%d:%02d:%02d" % (h, m, s)
    return "%d:%02d" % (m, s)


class Display:
    """The common part: what is said at the start, at the end, and on Ctrl-C."""

    step = 0

    def __init__(self, out: TextIO, goal: int) -> None:
        self.out = out
        self.goal = goal
        self.hours = goal >= 3600  # one clock format for the whole run

    def clock(self, seconds: float) -> str:
        return clock(seconds, self.hours)

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def begin(self) -> None:
        self.write("counting down %s\n" % (self.clock(self.goal),))

    def show(self, elapsed: float) -> None:
        """Show the state ``elapsed`` seconds into the countdown."""

    def end(self) -> None:
        self.write("time's up!\n")

    def stopped(self, elapsed: float) -> None:
        """The countdown was interrupted after ``elapsed`` seconds."""
        self.write("stopped after %s.%d of %s\n"
                   % (self.clock(elapsed), int(elapsed * 10) % 10, self.clock(self.goal)))

    def status(self, elapsed: float) -> str:
        """``elapsed 0:01  remaining 0:02``, in whole seconds, so that the two
        clocks always add up to the goal."""
        done = min(int(elapsed), self.goal)
        return "elapsed %s  remaining %s" % (self.clock(done), self.clock(self.goal - done))

    def percent(self, elapsed: float) -> int:
        return 100 * min(int(elapsed), self.goal) // self.goal


class Lines(Display):
    """Not a terminal: one plain line at each increment (``step``)."""

    def __init__(self, out: TextIO, goal: int, increment: int) -> None:
        super().__init__(out, goal)
        self.step = increment

    def show(self, elapsed: float) -> None:
        self.write("%s  (%d%%)\n" % (self.status(elapsed), self.percent(elapsed)))


class LiveLine(Display):
    """A terminal: one line, redrawn in place every second."""

    step = 1

    def begin(self) -> None:
        self.write("counting down %s (Ctrl-C to stop)\n" % (self.clock(self.goal),))
        self.show(0)

    def show(self, elapsed: float) -> None:
        self.write(REDRAW + self.line(elapsed))

    def line(self, elapsed: float) -> str:
        """The progress bar and the status, fitted to the terminal's width
        (one column spare, so the line never wraps and ``\\r`` finds its start)."""
        text = "%3d%%  %s" % (self.percent(elapsed), self.status(elapsed))
        # 0 is a terminal that does not know its width (a new pty); Python < 3.11 passes it on
        columns = shutil.get_terminal_size().columns or FALLBACK_COLUMNS
        width = min(BAR_WIDTH, columns - len(text) - 4)
        if width < MIN_BAR_WIDTH:
            line = text[:columns - 1]
        else:
            filled = width * min(int(elapsed), self.goal) // self.goal
            line = "[%s%s] %s" % ("#" * filled, "-" * (width - filled), text)
        if REDRAW == "\r":  # no erase sequence: spaces cover what the last line left
            line = line.ljust(columns - 1)
        return line

    def end(self) -> None:
        self.write(REDRAW + self.line(self.goal) + "\n")
        super().end()

    def stopped(self, elapsed: float) -> None:
        # Redrawn first: this also wipes the "^C" the terminal echoed.
        self.write(REDRAW + self.line(elapsed) + "\n")
        super().stopped(elapsed)


class Quiet(Display):
    """``--quiet``: only the end (and, on Ctrl-C, how long it ran)."""

    def begin(self) -> None:
        pass


def choose(out: TextIO, goal: int, increment: int, quiet: bool = False) -> Display:
    """The display for ``out``: quiet, live (a terminal) or plain lines."""
    if quiet:
        return Quiet(out, goal)
    if isatty(out):
        return LiveLine(out, goal)
    return Lines(out, goal, increment)


def isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed file
        return False
