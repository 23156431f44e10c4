"""The ``asyncio`` registrar's signals: handed to ``loop.add_signal_handler``
wherever asyncio can own them (the main thread, a loop that has signal
handlers: Unix selector loops, uvloop), as tornado's and Twisted's asyncio
integrations do.

asyncio's loop then owns the signal: its handler, its wake-up fd, its
callback run in the loop. What it does not do is what rel promises on every
registrar, so this module adds it:

* **The old handler comes back.** ``remove_signal_handler`` leaves
  ``SIG_DFL`` (or Python's SIGINT handler) behind, not what was there before:
  the handler found when rel took the signal is saved and put back when rel's
  last watcher of it goes. If asyncio then gave up its wake-up fd (it had no
  handler left) the wake-up fd found before rel's first signal is put back too.
* **Errors are rel's.** A signal that cannot be caught is an OSError (EINVAL),
  as on every registrar, not asyncio's RuntimeError, and the wake-up fd asyncio
  takes before finding that out is given back.

* **Nothing is taken from anyone.** asyncio's ``add_signal_handler`` takes
  the process's one wake-up fd. So asyncio owns a signal for rel only where
  that fd is free (or asyncio's already, for rel): another loop's, the
  application's, or rel's own channel for another registrar stays theirs,
  and the signal goes through ``signals.py``. A wake-up fd or handler set by
  the application meanwhile stays when rel gives the signal back.

Where asyncio cannot own a signal (see above, a loop without signal handlers
such as Windows' selector loop, or a loop that is not running in the main
thread when the watcher is armed: rel.dispatch() may run it in any thread,
and only the main thread may put a handler back), the registrar routes it
through ``signals.py`` as every other registrar does; the main-thread rule (a
watcher armed from another thread stays unarmed, logged) holds either way.
"""

from __future__ import annotations

import asyncio
import errno
import signal as _signal
from typing import Any, Callable, Dict, Optional

from .logs import logger


def _wakeup_fd() -> int:
    """The process's wake-up fd, read (main thread)."""
    fd = _signal.set_wakeup_fd(-1)
    if fd != -1:
        _signal.set_wakeup_fd(fd)
    return fd


def _give_back_wakeup_fd(fd: int) -> None:
    """Set ``fd`` again where the wake-up fd is unset (asyncio unset it)."""
    if fd == -1:
        return
    current = _signal.set_wakeup_fd(-1)
    try:
        _signal.set_wakeup_fd(current if current != -1 else fd)
    except (OSError, ValueError):  # closed by its owner meanwhile: unset is right
        pass


class LoopSignals:
    """The signals one registrar handed to its asyncio loop: ``{signum: the
    handler found before}``, and how to give them back or to another loop."""

    __slots__ = ("saved", "callback", "_wakeup_before", "_theirs", "_asyncio_fd")

    def __init__(self, callback: Callable[[int], None]) -> None:
        self.saved: Dict[int, Any] = {}
        self.callback = callback  # callback(signum), run by the loop on each delivery
        self._wakeup_before = -1
        self._theirs: Dict[int, Any] = {}  # {signum: the handler asyncio installed}
        self._asyncio_fd = -1  # the wake-up fd asyncio set

    def take(self, loop: asyncio.AbstractEventLoop, sig: int) -> bool:
        """Hand ``sig`` to ``loop`` (main thread), if asyncio can own it without
        taking anything from anyone: the loop has signal handlers, and the
        process's wake-up fd is free (another loop's, the application's or rel's
        own for another registrar is left alone) or asyncio's already, for rel.
        False otherwise; OSError/ValueError/TypeError for a bad signal, with
        nothing changed."""
        old = _signal.getsignal(sig)  # ValueError, TypeError: a bad signal number
        wakeup = _wakeup_fd()
        if wakeup != -1 and not (self.saved and wakeup == self._asyncio_fd):
            return False
        try:
            loop.add_signal_handler(sig, self.callback, sig)
        except NotImplementedError:
            return False
        except RuntimeError as exc:  # "cannot be caught" (or not the main thread)
            _give_back_wakeup_fd(wakeup)
            raise OSError(errno.EINVAL, "rel: signal %d: %s" % (sig, exc)) from None
        except BaseException:
            _give_back_wakeup_fd(wakeup)
            raise
        if not self.saved:
            self._wakeup_before = wakeup
            self._asyncio_fd = _wakeup_fd()
            # A flood of signals with the loop away fills asyncio's self-pipe: a
            # full pipe already means "wake up", as rel's own channel knows.
            _signal.set_wakeup_fd(self._asyncio_fd, warn_on_full_buffer=False)
        self.saved[sig] = old
        self._theirs[sig] = _signal.getsignal(sig)
        return True

    def give_back(self, loop: Optional[asyncio.AbstractEventLoop], sig: int) -> None:
        """Take ``sig`` from ``loop`` (main thread) and put its old handler
        back, unless the application replaced asyncio's meanwhile (that one
        stays); the wake-up fd too, unless set by someone else meanwhile."""
        old = self.saved.pop(sig)
        theirs = self._theirs.pop(sig, None)
        current = _signal.getsignal(sig)
        wakeup = _wakeup_fd()
        if loop is not None and not loop.is_closed():
            loop.remove_signal_handler(sig)  # leaves SIG_DFL, and may unset the wake-up fd
        if current is not theirs:  # the application's, set after asyncio's
            old = current
        _signal.signal(sig, old if old is not None else _signal.SIG_DFL)
        if wakeup != self._asyncio_fd:  # set by someone after asyncio: theirs stays
            _give_back_wakeup_fd(wakeup)
        elif not self.saved:
            _give_back_wakeup_fd(self._wakeup_before)
        if not self.saved:
            self._wakeup_before = self._asyncio_fd = -1

    def give_back_all(self, loop: Optional[asyncio.AbstractEventLoop]) -> None:
        for sig in list(self.saved):
            try:
                self.give_back(loop, sig)
            except (OSError, ValueError, RuntimeError) as exc:  # off the main thread
                logger.warning("rel: signal %d: its handler could not be put back: %s", sig, exc)

    def handler_before(self, sig: int) -> Any:
        """The handler ``sig`` had before rel took it (None if not held here)."""
        return self.saved.get(sig)

    def move(self, old: Optional[asyncio.AbstractEventLoop],
             new: asyncio.AbstractEventLoop) -> Dict[int, Any]:
        """Hand every signal from ``old`` (None: closed, or gone) to ``new``;
        returns ``{signum: saved handler}`` of those ``new`` refused, for
        another way of delivery."""
        refused = {}
        for sig in list(self.saved):
            if old is not None and not old.is_closed():
                old.remove_signal_handler(sig)
            try:
                new.add_signal_handler(sig, self.callback, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                refused[sig] = self.saved.pop(sig)
                self._theirs.pop(sig, None)
            else:
                self._theirs[sig] = _signal.getsignal(sig)
                self._asyncio_fd = _wakeup_fd()
        return refused
