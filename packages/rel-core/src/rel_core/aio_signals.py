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

from . import signals as _signals
from .aio_binding import LoopBound
from .listener import Signal
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


class SignalsOnLoop(LoopBound):
    """The ``asyncio`` registrar's second floor: its signal watchers, in the
    base engine's table either way, delivered by asyncio's loop where it can
    own the signal (:class:`LoopSignals`), else by ``signals.py`` as on every
    registrar."""

    _in_pass: bool

    # else signals.py as on every registrar; the watchers in the base's table either way.
    def _on_signal(self, sig: int) -> None:
        """asyncio's loop calls this on each delivery of a signal it owns for rel."""
        if sig not in self._signals:  # its last watcher went off the main thread
            self._give_back_signal(sig)
            old = self._loop_sigs.handler_before(sig)
            if callable(old):  # that delivery is the old handler's
                old(sig, None)
            return
        self._sigq.append(sig)
        self._pass()

    def _arm_signal(self, w: Signal) -> None:
        if not _signals._main_thread():
            return super()._arm_signal(w)  # not armed, logged, as on every registrar
        for sig in [s for s in self._loop_sigs.saved if s not in self._signals]:
            self._give_back_signal(sig)  # the main thread's visit: left off another thread
        self._attach()
        with self._lock:
            if self._moved_to is not None:
                return self._forward("_arm_signal", (w,))  # type: ignore[no-any-return]
            sig = w.sig
            watchers = self._signals.get(sig)
            if sig not in self._loop_sigs.saved:
                loop = self._loop
                if watchers is not None or loop is None or not loop.is_running():
                    # routed by signals.py already, or rel.dispatch() will run the loop,
                    # maybe in another thread: rel's own routing (see aio_signals.py)
                    return super()._arm_signal(w)
                if not self._loop_sigs.take(loop, sig):
                    return super()._arm_signal(w)
                watchers = self._signals[sig] = []
            if not w.active:
                assert watchers is not None
                watchers.append(w)
                w.active = True
        return None

    def _disarm_signal(self, w: Signal) -> None:
        if w.sig in self._loop_sigs.saved:
            with self._lock:
                if self._moved_to is not None:
                    return self._forward("_disarm_signal", (w,))  # type: ignore[no-any-return]
                watchers = self._signals.get(w.sig)
                was_active, w.active = w.active, False
                if was_active and watchers is not None and w in watchers:
                    watchers.remove(w)
                    if not watchers:
                        del self._signals[w.sig]
                        self._give_back_signal(w.sig)
        else:
            super()._disarm_signal(w)
        if self._finish is not None and not self._in_pass:
            self._poke()
        return None

    def _reset_signal(self, sig: int) -> None:
        super()._reset_signal(sig)
        if sig in self._loop_sigs.saved:
            self._give_back_signal(sig)

    def _give_back_signal(self, sig: int) -> None:
        """No watcher of ``sig`` is left: asyncio lets it go, the old handler
        comes back (the main thread only may set handlers: from another thread,
        the loop's thread does it, as soon as it runs, if that is the main one)."""
        if sig not in self._loop_sigs.saved or sig in self._signals:
            return
        if _signals._main_thread():
            self._loop_sigs.give_back(self._loop, sig)
            return
        logger.info("rel: signal %d: its handler is put back at its next delivery, or the main "
                    "thread's next signal call on this registrar", sig)

    def _move_signals(self, old: Optional[asyncio.AbstractEventLoop],
                      new: asyncio.AbstractEventLoop) -> None:
        """The signals asyncio owned for rel go to ``new``; those it refuses
        (another thread's loop, a loop without signal handlers) to signals.py."""
        routed = False
        for sig, saved in self._loop_sigs.move(old, new).items():
            if _signals._main_thread():
                self._sigs.route(sig, saved)
                routed = True
            else:
                logger.warning("rel: signal %d: its watchers get no delivery on a loop of another "
                               "thread (signal handlers belong to the main thread)", sig)
        if routed:
            self._watch_channel(_signals.channel())

    def init(self) -> None:
        """As :meth:`Registrar.init`; the signals asyncio owned for rel are given back."""
        super().init()
        if self._moved_to is None:
            self._loop_sigs.give_back_all(self._loop)

    def _hand_over(self, new: Any) -> Any:
        # Switching registrar: the signals asyncio owns for rel go to signals.py's
        # routing (the new registrar's from now on: SignalDelivery.move_to).
        calls = super()._hand_over(new)  # RuntimeError while the loop runs: nothing changed
        loop = self._loop
        for sig, saved in list(self._loop_sigs.saved.items()):
            del self._loop_sigs.saved[sig]
            if loop is not None and not loop.is_closed():
                loop.remove_signal_handler(sig)
            self._sigs.route(sig, saved)
        return calls

    # -- provided by the floors above ---------------------------------------------------
    def _poke(self) -> None:
        """Something was deleted outside a pass: rel may be done."""
        raise NotImplementedError
