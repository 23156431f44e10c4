"""Promises of registrar.py that the rest of the suite left unchecked (found
by ``nox -s mutate``: each test here fails for a one-line change to the
engine that every other test let through).

Most are about calls from another thread: pending() answers for the calls on
their way to the loop (``Timer._intent`` and the ``_gen`` checks of
``_arm_timer_at`` / ``_disarm_timer``), at the instants that matter, which
the tests reach deterministically: the loop thread is held in a callback
while the calls are queued, or inside its drain of them (``_Gate``).
"""

from __future__ import annotations

import errno
import signal
import socket
import sys
import threading
from typing import Any, List, Optional

import pytest

import rel_core.rel as facade
from relcore_testing import dispatch_to_end, open_fds, run_in_thread

needs_sigusr1 = pytest.mark.skipif(sys.platform == "win32", reason="SIGUSR1 is POSIX")


def _noop() -> None:
    return None


class _Gate:
    """A socket stand-in whose ``fileno()`` can hold the loop's thread.

    When a new watcher is armed on an fd, the fd table asks that fd's other
    watchers' sockets whether they are still open (``fileno()``); for a call
    queued from another thread it does so in the loop thread, in the middle
    of its drain of the queued calls. ``hold_next()`` makes the next such
    call from another thread than the caller's wait (``entered`` set) until
    ``go`` is set."""

    def __init__(self, sock: socket.socket) -> None:
        self._fd = sock.fileno()
        self._holding: Optional[int] = None  # the thread that asked: never held
        self.entered = threading.Event()
        self.go = threading.Event()

    def hold_next(self) -> None:
        self._holding = threading.get_ident()

    def fileno(self) -> int:
        caller = self._holding
        if caller is not None and caller != threading.get_ident():
            self._holding = None
            self.entered.set()
            self.go.wait(10)
        return self._fd


class _LoopInAThread:
    """``rel.dispatch()`` in a thread, held at once in a timer callback
    (``busy``) until ``release()``: while it is held, calls from this thread
    are queued for the loop, and none of them is applied."""

    def __init__(self, rel: Any, in_callback: Any = None) -> None:
        self.rel = rel
        self.busy = threading.Event()
        self._go = threading.Event()
        self._in_callback = in_callback
        self.keeper = rel.timeout(30, _noop)  # dispatch() has work until stopped
        rel.timeout(0, self._hold)
        self.thread, self.errors = run_in_thread(rel.dispatch)
        assert self.busy.wait(5), "the loop did not run its first timer"

    def _hold(self) -> None:
        self.busy.set()
        self._go.wait(10)
        if self._in_callback is not None:
            self._in_callback()  # in the loop thread, after the queued calls were made

    def release(self) -> None:
        self._go.set()

    def stop(self) -> None:
        self._go.set()
        self.keeper.delete()
        self.rel.abort()
        facade.registrar.pause()
        self.thread.join(10)
        assert not self.thread.is_alive() and not self.errors


def _gates(rel: Any, socks: Any, n: int) -> List[Any]:
    """``n`` (gate, socket) pairs, each gate the socket of an armed reader
    (which never fires: nothing is sent)."""
    made = []
    for _ in range(n):
        a, _b = socks()
        gate = _Gate(a)
        rel.read(gate, lambda: True)
        made.append((gate, a))
    return made


def _pending_in_the_drain(rel: Any, socks: Any, t: Any, queued: Any, while_held: Any) -> bool:
    """The loop drains three calls queued together: a writer's arm (held at
    its gate), ``queued()``'s call, another writer's arm (held at its gate).
    ``while_held()`` runs while the loop is held at the first gate (its call
    is queued after the drain began: applied in a later drain); returns
    ``t.pending()`` as seen while the loop is held at the second one, with
    ``queued()``'s call applied and ``while_held()``'s not yet."""
    (g1, a1), (g2, a2) = _gates(rel, socks, 2)
    loop = _LoopInAThread(rel)
    try:
        g1.hold_next()
        g2.hold_next()
        rel.write(a1, _noop)  # queued: its fd's reader's socket (g1) is asked
        queued()
        rel.write(a2, _noop)
        loop.release()
        assert g1.entered.wait(5), "the loop never asked the first gate"
        while_held()
        g1.go.set()
        assert g2.entered.wait(5), "the loop never asked the second gate"
        seen = t.pending()
    finally:
        g1.go.set()
        g2.go.set()
        loop.stop()
    return seen


def test_pending_says_true_when_a_delete_is_applied_with_a_later_add_on_its_way(rel, socks):
    """delete() and add() from another thread while the loop runs: at the
    instant the loop has applied the delete but not the add, pending() still
    answers for the add (True)."""
    t = rel.timeout(30, _noop)
    seen = _pending_in_the_drain(rel, socks, t, t.delete, lambda: t.add(30))
    assert seen is True
    assert t.pending()
    t.delete()


def test_pending_says_false_when_an_add_is_applied_with_a_later_delete_on_its_way(rel, socks):
    """The mirror image: add() then delete(); the add applied, the delete
    not yet: pending() answers for the delete (False)."""
    t = rel.timeout(None, _noop)
    seen = _pending_in_the_drain(rel, socks, t, lambda: t.add(30), t.delete)
    assert seen is False
    assert not t.pending()


def _pending_after_the_drain(rel: Any, t: Any, queued: Any, in_loop: Any) -> List[bool]:
    """``queued()`` from this thread while the loop is held; then, in the
    loop thread and before it drains that call, ``in_loop()`` (applied at
    once: the loop's own thread). Returns what ``t.pending()`` said in the
    loop thread just after the drain (a zero-delay timer queued behind), and
    whether the heap holds ``t`` then (the keeper and ``t``: 2 timers)."""
    seen: List[bool] = []
    loop = _LoopInAThread(rel, in_loop)
    try:
        queued()
        done = threading.Event()

        def look() -> None:
            seen.append(t.pending())
            seen.append(facade.registrar.report()["timers"] == 2)
            done.set()

        rel.timeout(0, look)  # queued behind: applied in the same drain
        loop.release()
        assert done.wait(5)
    finally:
        loop.stop()
    return seen


def test_an_add_applied_after_the_loops_own_delete_says_pending(rel):
    """Another thread add()s a timer; before the loop applies that call, a
    callback delete()s it (applied at once, in the loop's thread). The add,
    applied next, arms the timer: pending() must say so, as it would fire."""
    t = rel.timeout(None, _noop)
    seen = _pending_after_the_drain(rel, t, lambda: t.add(30), t.delete)
    assert seen == [True, True]
    t.delete()


def test_a_delete_applied_after_the_loops_own_add_says_not_pending(rel):
    """The mirror image: another thread delete()s an armed timer, a callback
    add()s it before the loop applies the delete; the delete, applied next,
    disarms it: pending() must say False."""
    t = rel.timeout(30, _noop)
    seen = _pending_after_the_drain(rel, t, t.delete, lambda: t.add(30))
    assert seen == [False, False]
    assert not t.pending()


# -- the idle audit: after a silent wait with no timer armed, never after a timer's ---------
class _CountingSocket:
    """A socket stand-in that counts the calls of its ``fileno()``: the idle
    audit asks every watched socket for it (was it closed under us?)."""

    def __init__(self, sock: socket.socket) -> None:
        self._fd = sock.fileno()
        self.calls = 0

    def fileno(self) -> int:
        self.calls += 1
        return self._fd


def test_waits_for_a_timer_never_audit_the_watched_sockets(rel, socks, monkeypatch):
    """The audit is for a wait with no timer armed, IDLE_AUDIT long, that
    ended silent: a loop whose waits are for timers, shorter or longer
    than IDLE_AUDIT and ending with nothing ready, never pays for it
    (its watchers' sockets are not asked for their fd once)."""
    import rel_core.registrar

    monkeypatch.setattr(rel_core.registrar, "IDLE_AUDIT", 0.05)
    a, _b = socks()
    sock = _CountingSocket(a)
    rel.read(sock, lambda: True)  # never fires: nothing is sent
    asked = sock.calls
    delays = [0.01, 0.01, 0.1, 0.1]  # around IDLE_AUDIT

    def step() -> None:
        if delays:
            t.add(delays.pop(0))
        else:
            rel.abort()

    t = rel.timeout(0.01, step)
    dispatch_to_end(rel)
    assert not delays
    assert sock.calls == asked


# -- building: a poller that refuses the waker --------------------------------------------------
def test_a_poller_that_cannot_watch_the_waker_leaves_nothing_open(rel):
    """The registrar's poller refuses even the waker's socketpair (its first
    fd): the error reaches the caller, and the waker and the poller made
    before it are closed, not left open for the garbage collector."""
    cls = type(facade.registrar)
    if cls.name == "asyncio":
        pytest.skip("the asyncio registrar's waker is its loop's (call_soon_threadsafe), not a Waker")
    built: List[Any] = []

    def refuse(fd: int, mask: int) -> None:
        raise OSError(errno.EPERM, "refused")

    class Refusing(cls):  # type: ignore[misc, valid-type]
        def _poller_open(self) -> None:
            super()._poller_open()
            built.append(self)  # kept alive: nothing is closed by collection
            self._poller_register = refuse  # over the poller's own (poll family binds it)

    before = open_fds()
    with pytest.raises(OSError):
        Refusing()
    (reg,) = built
    assert reg._waker._reader.fileno() == -1 and reg._waker._writer.fileno() == -1
    if before is not None:
        assert open_fds() <= before


@pytest.mark.parametrize("overlap", ["read-write", "read-error", "write-error"])
def test_a_registrar_whose_interest_bits_overlap_is_refused_before_it_opens_anything(rel, overlap):
    """The fd tables add and take away one kind's bit alone, so a registrar
    whose _WANT_ bits share one would lose another kind's interest: refused
    by name, at construction, before any poller or waker exists."""
    cls = type(facade.registrar)
    first, second = overlap.split("-")
    opened: List[Any] = []

    class Overlapping(cls):  # type: ignore[misc, valid-type]
        def _poller_open(self) -> None:
            opened.append(self)
            super()._poller_open()

    shared = getattr(cls, "_WANT_" + first.upper()) or 1  # a bit of its own, given to two kinds
    setattr(Overlapping, "_WANT_" + first.upper(), shared)
    # the second kind has a higher bit too: sharing one bit is enough to be refused
    setattr(Overlapping, "_WANT_" + second.upper(), shared | shared << 8)
    before = open_fds()
    with pytest.raises(TypeError, match="Overlapping: _WANT_READ, _WANT_WRITE and _WANT_ERROR "
                                        "share bits"):
        Overlapping()
    assert opened == []
    if before is not None:
        assert open_fds() <= before


# -- init() from another thread: applied by the loop's thread -----------------------------------
@needs_sigusr1
def test_init_from_another_thread_puts_the_signal_handler_back_in_the_loops(rel):
    """The loop runs in the main thread; a worker calls init() while it
    runs. The call is the loop thread's to apply, so the handler saved
    when rel armed its watcher is put back at once (only the main thread
    can), and dispatch() returns."""
    def app_handler(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGUSR1, app_handler)
    w = rel.signal(signal.SIGUSR1, _noop)
    assert signal.getsignal(signal.SIGUSR1) is not app_handler

    def from_a_worker() -> None:
        worker = threading.Thread(target=facade.registrar.init)
        worker.start()
        worker.join(5)

    rel.timeout(0, from_a_worker)
    dispatch_to_end(rel)
    assert signal.getsignal(signal.SIGUSR1) is app_handler
    assert not w.pending()


# -- a signal delivered before a switch of registrar ------------------------------------------
@needs_sigusr1
def test_a_signal_delivered_before_a_switch_runs_first_after_it(rel, monkeypatch):
    """A signal lands while no loop runs; initialize() then switches
    registrar, and the delivery moves with the watcher. The wake-up fd is
    the application's (rel leaves it alone), so nothing is left to wake the
    new registrar's wait: its first pass must not wait (for the timer due
    later), but handle the delivery at once."""
    from test_behaviour import _install_switch_target

    _install_switch_target(monkeypatch, type(facade.registrar))
    r, s = socket.socketpair()
    s.setblocking(False)
    previous = signal.set_wakeup_fd(s.fileno())
    try:
        order: List[str] = []

        def on_signal() -> None:
            order.append("signal")
            w.delete()
            t.delete()  # nothing left: dispatch() returns

        w = rel.signal(signal.SIGUSR1, on_signal)
        old = facade.registrar
        signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)  # handled before it returns
        assert list(old._sigq) == [signal.SIGUSR1] and not order
        assert rel.initialize(["switched"], ["strict"]) == "switched"
        t = rel.timeout(2, order.append, "timer")  # a first wait for it would end with it
        dispatch_to_end(rel)
        assert order == ["signal"]
    finally:
        signal.set_wakeup_fd(previous)
        r.close()
        s.close()


# -- diagnostics: imported only when asked ------------------------------------------------------
#: the modules rel_core.debug imports, none of them imported before it
DEBUG_PARTS = ("diagnostics", "instruments", "busy_loop", "describe")


def test_a_registrar_built_without_rel_debug_leaves_the_diagnostics_unimported(registrar_class,
                                                                               monkeypatch):
    """No REL_DEBUG, and rel_core.debug not imported yet (as in a program
    that never asked for it): building a registrar does not import it.
    (test_diagnostics_are_not_imported_unless_asked checks a whole program,
    in a child process; this is the same promise in this one.)"""
    import rel_core
    import rel_core.debug
    from rel_core.timerheap import TimerHeap

    monkeypatch.delenv("REL_DEBUG", raising=False)
    monkeypatch.delitem(sys.modules, "rel_core.debug")
    monkeypatch.delattr(rel_core, "debug")  # else `from . import debug` finds it there
    for part in DEBUG_PARTS:  # and the modules debug.py brings in
        monkeypatch.delitem(sys.modules, "rel_core." + part)
        monkeypatch.delattr(rel_core, part)
    reg = registrar_class()
    try:
        assert "rel_core.debug" not in sys.modules
        assert not [part for part in DEBUG_PARTS if "rel_core." + part in sys.modules]
        assert type(reg._timers) is TimerHeap
    finally:
        reg.close()
