"""The watchers: one class per kind of event, each armed on a registrar.

* :class:`SocketIO` watches one fd for reading, writing or errors;
* :class:`Timer` runs a callback after a delay;
* :class:`Signal` runs a callback on each delivery of a signal;
* :class:`Event` is pyevent's event object, composed of the three above.

A watcher's callback's return value decides what happens next, as in rel: truthy
keeps an I/O watcher armed and re-arms a timer, falsy deletes it. A callback that
calls ``add()`` or ``delete()`` on its own watcher has taken control, and its
return value is then ignored. A callback that raises counts as falsy.

What a watcher asks of its registrar, and all it asks, is :class:`WatcherHost`:
this module knows no engine, so the engine (``registrar.py``) is built on it
and not the other way round.
"""

from __future__ import annotations

import numbers
import signal as _signal
import sys
from typing import Any, Callable, Optional, Protocol, Union

from . import _platform
from .logs import Basic

EV_TIMEOUT = 1
EV_READ = 2
EV_WRITE = 4
EV_SIGNAL = 8
EV_PERSIST = 16

READ, WRITE, ERROR = 0, 1, 2  # slot index of each SocketIO kind on its fd
KINDS = {"read": READ, "write": WRITE, "error": ERROR}

FileLike = Union[int, Any]  # an int fd or an object with fileno()


def contains(mode: int, bit: int) -> bool:
    """Whether every bit of ``bit`` is set in ``mode`` (rel's helper)."""
    return mode & bit == bit


def _check_callable(cb: Any) -> None:
    if not callable(cb):
        raise TypeError("callback must be callable, not %s" % (type(cb).__name__,))


def fileno_of(sock: FileLike) -> int:
    """The fd of ``sock`` (an int or an object with ``fileno()``).

    Raises TypeError for anything else, ValueError for a negative fd (a closed
    socket object reports -1) and OSError (EBADF) for an fd that is not open.
    """
    if isinstance(sock, int) and not isinstance(sock, bool):
        fd = sock
    else:
        fileno = getattr(sock, "fileno", None)
        if fileno is None:
            raise TypeError(
                "expected an int fd or an object with fileno(), not %s" % (type(sock).__name__,)
            )
        try:
            fd = fileno()
        except (OSError, ValueError) as exc:  # io objects raise ValueError once closed
            raise ValueError("%r has no usable fd (closed?): %s" % (sock, exc)) from None
        if not isinstance(fd, int):
            raise TypeError("fileno() returned %r, not an int" % (fd,))
    if fd < 0:
        raise ValueError("invalid fd %d (a closed socket reports -1)" % (fd,))
    return fd


def check_open(fd: int) -> None:
    """Raise OSError naming ``fd`` unless it can be watched here: an open fd
    (EBADF otherwise) on POSIX; on Windows, an open socket (a closed handle,
    a pipe or a file is refused: select() takes sockets only there)."""
    _platform.check_watchable(fd)


def is_tls(sock: Any) -> bool:
    """Whether ``sock`` is an ``ssl.SSLSocket``, which may hold decrypted
    bytes that no poller reports. Without the ssl module imported, nothing
    can be one: no import, no cost."""
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(sock, ssl.SSLSocket)


def seconds(delay: Any) -> float:
    """Validate a delay: a real number. An int stays an int (``timer.delay``
    reads back as given, as in rel 0.4.9.27), other numbers become floats. A
    negative delay is kept: its deadline is that far in the past, so it is due
    at once and runs before timers due later, in deadline order (as rel
    0.4.9.27's). Raises TypeError, ValueError (NaN), or OverflowError for an
    int too large for a float, before anything is changed or armed."""
    if type(delay) is int:
        float(delay)  # the OverflowError here, not from the poller once armed
        return delay
    if type(delay) is not float:
        if isinstance(delay, bool) or not isinstance(delay, numbers.Real):
            raise TypeError("delay must be a number of seconds, not %r" % (delay,))
        delay = float(delay)
    if delay != delay:
        raise ValueError("delay must be a number of seconds, not NaN")
    return delay


class WatcherHost(Protocol):
    """The registrar as its watchers see it: the calls ``add()``, ``delete()``
    and the rest make on the registrar they were made for
    (:class:`~rel_core.registrar.Registrar` provides them). Each may be called
    from any thread; the registrar applies it in its loop's thread."""

    def _arm_io(self, w: SocketIO) -> None:
        """Arm ``w`` (raise OSError, arming nothing, for an fd not open)."""

    def _disarm_io(self, w: SocketIO) -> None:
        """Disarm ``w`` (a no-op if it is not armed)."""

    def _run_io(self, w: SocketIO) -> None:
        """Call ``w``'s callback as the loop would (its return-value rules)."""

    def _arm_timer(self, t: Timer, delay: float) -> None:
        """Arm ``t`` to fire ``delay`` seconds from now (re-arm if armed)."""

    def _move_timer(self, t: Timer, deadline: float) -> None:
        """Arm ``t`` for ``deadline`` on ``time.monotonic()`` (``expiration`` written)."""

    def _timer_deadline(self, t: Timer) -> Optional[float]:
        """``t``'s deadline as its caller sees it, or None when it is not armed."""

    def _cancel_timer(self, t: Timer) -> None:
        """Disarm ``t`` (a no-op if it is not armed)."""

    def _arm_signal(self, w: Signal) -> None:
        """Start delivering ``w.sig`` to ``w``."""

    def _disarm_signal(self, w: Signal) -> None:
        """Stop delivering to ``w``; the last watcher of a signal puts its handler back."""

    def _reset_signal(self, sig: int) -> None:
        """Disarm every watcher of ``sig`` and put its handler from before rel back."""


def _name(cb: Any) -> str:
    """The callback's name as rel 0.4.9.27's reprs show it: ``__name__`` alone,
    a bound method's too (its owner-class branch tested ``im_class``, which no
    Python 3 method has). A callable without a name (a ``functools.partial``)
    or a dereferenced watcher's None made its repr raise: ours shows the
    callable's own repr instead."""
    cb = getattr(cb, "__wrapped__", cb)  # debug mode's timing closure: name what it wraps
    return getattr(cb, "__name__", None) or repr(cb)


class Timer(Basic):
    """Run ``cb(*args)`` after ``delay`` seconds; truthy return re-arms it.

    ``delay=None`` creates the timer unarmed (arm it with :meth:`add`). The delay
    of a re-arm is measured from when the callback returned.
    """

    __slots__ = ("registrar", "cb", "args", "delay", "_seq", "_gen", "_intent")

    def __init__(self, registrar: WatcherHost, delay: Optional[float], cb: Callable[..., Any],
                 *args: Any) -> None:
        _check_callable(cb)
        self.registrar = registrar
        self.cb: Optional[Callable[..., Any]] = cb
        self.args: Any = args
        self.delay: Optional[float] = None
        self._seq: Optional[int] = None  # seq of our live heap entry; None: not armed
        self._gen = 0  # bumped by add()/delete(), so a callback's own call wins
        # What a call not yet applied by the loop (made from another thread)
        # will make of it: True armed, False not; None when nothing is on its way.
        self._intent: Optional[bool] = None
        if delay is not None:
            self.add(delay)

    def __repr__(self) -> str:
        return '<Timer Object | Callback:"%s">' % (_name(self.cb),)

    def add(self, delay: Optional[float] = None) -> None:
        """Arm (or re-arm) the timer to fire ``delay`` seconds from now.

        Without ``delay`` the last delay is used; a timer that never had one
        stays unarmed.
        """
        if delay is None:
            if self.delay is None:
                return
            delay = self.delay
        else:
            delay = self.delay = seconds(delay)
        self._gen += 1
        self.registrar._arm_timer(self, delay)

    def delete(self, dereference: bool = False) -> None:
        """Disarm the timer; with ``dereference`` also drop its callback."""
        self._gen += 1
        self.registrar._cancel_timer(self)
        if dereference:
            self.cb = None
            self.args = None

    def pending(self) -> bool:
        """Whether the timer is armed (or will be, once the loop applies an
        ``add()`` made from another thread: the caller's own call counts)."""
        intent = self._intent
        return self._seq is not None if intent is None else intent

    # Users read and write it (babyweb's cron fast-forwards a schedule with
    # ``timer.expiration -= ff``). Read from the heap entry, not kept on the
    # timer, so that arming costs nothing more.
    @property
    def expiration(self) -> Optional[float]:
        """When the timer fires, on ``time.monotonic()``'s clock (as rel
        0.4.9.27); None while it is not armed (before its first ``add()``,
        after ``delete()``, and once it fired unless its callback re-armed it).

        Writing it moves the timer to that deadline (earlier or later), arming
        it if it was not; writing None deletes it. Its callback's truthy return
        then re-arms it ``delay`` seconds after it ran, as usual, so a timer
        that never had a delay cannot be given one (ValueError)."""
        return self.registrar._timer_deadline(self)

    @expiration.setter
    def expiration(self, deadline: Optional[float]) -> None:
        if deadline is None:
            self.delete()
            return
        try:
            deadline = seconds(deadline)
        except (TypeError, ValueError) as exc:
            raise type(exc)(str(exc).replace("delay must be a number of seconds",
                                             "expiration must be a time.monotonic() time")) from None
        if self.delay is None:
            raise ValueError("this timer never had a delay (it would not know when to fire "
                             "again): arm it with add(delay) before setting its expiration")
        self._gen += 1
        self.registrar._move_timer(self, deadline)


class _RunsOnceAfter(Basic):
    """What ``add(delay)`` shares between SocketIO and Signal: one private
    timer that calls ``_on_delay`` once, ``delay`` seconds from now (as rel)."""

    __slots__ = ("_timer",)
    registrar: WatcherHost
    _timer: Optional[Timer]

    def _run_once_after(self, delay: float) -> None:
        if self._timer is None:
            self._timer = Timer(self.registrar, None, self._on_delay)
        self._timer.add(delay)

    def _on_delay(self) -> None:
        raise NotImplementedError


class SocketIO(_RunsOnceAfter):
    """Watch one fd for ``evtype`` ('read', 'write' or 'error') events.

    Each time the event happens ``cb(*args)`` runs; a truthy return keeps the
    watcher armed (or any return, after :meth:`persistent`).

    An fd closed while registered is dropped by the engine (with a log line),
    and ``ondrop()``, if set, runs once: how a writer holding data for that
    fd hears of it.
    """

    __slots__ = ("registrar", "evtype", "kind", "sock", "fd", "subname", "cb", "args",
                 "persist", "active", "internal", "ondrop", "_gen", "_tls")

    def __init__(self, registrar: WatcherHost, evtype: str, sock: FileLike, cb: Callable[..., Any],
                 *args: Any, arm: bool = True) -> None:
        _check_callable(cb)
        if evtype not in KINDS:
            raise ValueError("evtype must be one of %s, not %r" % (sorted(KINDS), evtype))
        self.registrar = registrar
        self.evtype = evtype
        self.kind = KINDS[evtype]
        self.sock = sock
        self.fd = fileno_of(sock)
        self.subname = "%s-%s" % (evtype, self.fd)
        self.cb: Optional[Callable[..., Any]] = cb
        self.args: Any = args
        self.persist = False
        self.active = False
        self.internal = False  # the loop's own watchers: not counted, not aborted
        #: called once (no arguments, in the loop) if the engine drops this
        #: watcher because its fd was closed while registered
        self.ondrop: Optional[Callable[[], Any]] = None
        self._gen = 0
        self._timer: Optional[Timer] = None
        #: a reader of an ``ssl.SSLSocket``: the engine looks at its
        #: ``pending()`` after each callback (bytes the kernel cannot see)
        self._tls = evtype == "read" and is_tls(sock)
        if arm:
            self.add()

    def __repr__(self) -> str:
        return '<SocketIO Object | Callback:"%s">' % (_name(self.cb),)

    def persistent(self) -> None:
        """Keep the watcher armed whatever its callback returns."""
        self.persist = True

    def add(self, delay: Optional[float] = None) -> None:
        """Arm the watcher. With ``delay``, also run the callback once after
        ``delay`` seconds if it is still armed then (as rel).

        Raises OSError if the fd is no longer open; nothing is armed then.
        """
        if self.cb is None:
            raise ValueError("this watcher was dereferenced")
        self._gen += 1
        self.registrar._arm_io(self)
        if delay is not None:
            self._run_once_after(delay)

    def _on_delay(self) -> None:
        if self.active:
            self.registrar._run_io(self)

    def delete(self) -> None:
        """Disarm the watcher (it can be armed again with :meth:`add`)."""
        self._gen += 1
        self.registrar._disarm_io(self)
        if self._timer is not None:
            self._timer.delete()

    def dereference(self) -> None:
        """Disarm the watcher for good and drop its callback and arguments."""
        self.delete()
        self.cb = None
        self.args = None

    def pending(self) -> bool:
        """Whether the watcher is armed."""
        return self.active


class Signal(_RunsOnceAfter):
    """Run ``cb(*args)`` on each delivery of signal ``sig``, until deleted.

    Signal handlers can only be installed from the main thread: armed from any
    other thread, the watcher stays unarmed (``pending()`` is false) and the
    ``rel`` logger says why, instead of raising.
    """

    __slots__ = ("registrar", "sig", "cb", "args", "active")

    def __init__(self, registrar: WatcherHost, sig: int, cb: Callable[..., Any], *args: Any,
                 arm: bool = True) -> None:
        _check_callable(cb)
        if isinstance(sig, bool) or not isinstance(sig, int):
            raise TypeError("sig must be a signal number, not %r" % (sig,))
        if sig not in _signal.valid_signals():
            raise ValueError("%d is not a valid signal number here (%s has %s)"
                             % (sig, sys.platform, ", ".join(_platform.signal_names())))
        self.registrar = registrar
        self.sig = sig
        self.cb = cb
        self.args = args
        self.active = False
        self._timer: Optional[Timer] = None
        if arm:
            self.add()

    def __repr__(self) -> str:
        return '<Signal Object | Callback:"%s">' % (_name(self.cb),)

    def add(self, delay: Optional[float] = None) -> None:
        """Start handling the signal. With ``delay``, also run the callback once
        after ``delay`` seconds if the watcher is still armed then (as rel)."""
        self.registrar._arm_signal(self)
        if delay is not None:
            self._run_once_after(delay)

    def _on_delay(self) -> None:
        if self.active:
            self.cb(*self.args)

    def delete(self) -> None:
        """Stop; the last watcher of a signal puts its previous handler back."""
        self.registrar._disarm_signal(self)
        if self._timer is not None:
            self._timer.delete()

    def reset(self) -> None:
        """Put back the handler the signal had before rel, disarming every
        watcher of this signal."""
        self.registrar._reset_signal(self.sig)

    def pending(self) -> bool:
        """Whether the watcher is armed."""
        return self.active


class Event:
    """pyevent's event: ``callback(ev, handle, fired_evtype, arg)``.

    ``evtype`` is a mask of EV_READ, EV_WRITE, EV_SIGNAL and EV_PERSIST; 0 or
    EV_TIMEOUT makes a pure timer. ``add(delay)`` arms it, with a timeout
    after which the callback runs with EV_TIMEOUT. Unless EV_PERSIST is set,
    the event is deleted (every part of it) before its callback runs, so the
    callback may ``add()`` it again; as in libevent 1.4, a timeout deletes even
    a persistent event.
    """

    def __init__(self, registrar: WatcherHost, cb: Callable[..., Any], arg: Any = None,
                 evtype: int = 0, handle: Any = None) -> None:
        _check_callable(cb)
        self.registrar = registrar
        self.callback = cb
        self.arg = arg
        self.evtype = evtype or EV_TIMEOUT
        self.handle = handle
        self.persist = contains(self.evtype, EV_PERSIST)
        self.timeout = Timer(registrar, None, self._fire, EV_TIMEOUT)
        self.children: list = []
        if contains(self.evtype, EV_SIGNAL):
            self.children.append(Signal(registrar, handle, self._fire, EV_SIGNAL, arm=False))
        for bit, kind in ((EV_READ, "read"), (EV_WRITE, "write")):
            if contains(self.evtype, bit):
                child = SocketIO(registrar, kind, handle, self._fire, bit, arm=False)
                child.persistent()  # _fire decides what stays armed
                self.children.append(child)

    def __repr__(self) -> str:
        # rel 0.4.9.27's Event had no repr of its own: object's, under the
        # name users import it by.
        return "<rel.listener.Event object at %#x>" % (id(self),)

    def add(self, delay: Optional[float] = None) -> None:
        """Arm the event; with ``delay`` (seconds), also time it out then."""
        if delay is not None:
            self.timeout.add(delay)
        for child in self.children:
            child.add()

    def delete(self) -> None:
        """Disarm every part of the event."""
        self.timeout.delete()
        for child in self.children:
            child.delete()

    def pending(self) -> bool:
        """Whether any part of the event is armed."""
        return self.timeout.pending() or any(child.pending() for child in self.children)

    def _fire(self, fired: int) -> None:
        if fired == EV_TIMEOUT or not self.persist:
            self.delete()
        try:
            self.callback(self, self.handle, fired, self.arg)
        except BaseException:
            self.delete()
            raise
