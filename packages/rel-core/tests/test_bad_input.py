"""Bad input fails at registration with a clear error and leaves nothing
half-registered; an fd closed while registered cannot break the loop.

Closed and reused fds (DESIGN rule 5; CPython's test_selectors and trio's
test_io do the same). The kernels disagree about an fd closed while it is
registered: epoll and kqueue forget it silently (its watcher simply never fires
again), poll reports it as POLLNVAL, select fails the whole call with EBADF.
Whatever the registrar, after ``close()`` of a watched fd:

acceptable
  * the stale watcher is dropped (``pending()`` false) with a warning on the
    ``rel`` logger (poll, select), or stays pending and never fires (epoll,
    kqueue: nobody tells the loop);
  * deleting the stale watcher afterwards does nothing, quietly;
  * once the number is reused (``os.dup2`` or a new socket), a watcher armed on
    the new file fires for it, whatever was registered on the old one, and the
    stale watcher of the same kind is replaced by it (newest wins, as rel).

not acceptable
  * any exception out of ``dispatch()``/``loop()``, or out of ``delete()``;
  * other watchers no longer firing, or the loop spinning on the dead fd;
  * a watcher armed on the reused number never firing (the poller still thinks
    it watches the old file: the classic epoll trap);
  * the stale watcher of the replaced kind firing for the new file.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
from typing import Any, Tuple

import pytest

import rel_core.rel as facade
from relcore_testing import POSIX_FDS_REASON, WINDOWS, fill, posix_fds

EMPTY = {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}


def noop():
    return None


# -- bad input at registration -----------------------------------------------------------------
def test_non_callable_callback_is_type_error(rel, socks, handle):
    a, b = socks()
    before = rel.report()
    for factory in (rel.read, rel.write, rel.error):
        with pytest.raises(TypeError):
            factory(handle(a), 42)
    with pytest.raises(TypeError):
        rel.timeout(1, "not callable")
    with pytest.raises(TypeError):
        rel.timeout(None, None)
    if hasattr(signal, "SIGUSR1"):
        handler = signal.getsignal(signal.SIGUSR1)
        with pytest.raises(TypeError):
            rel.signal(signal.SIGUSR1, None)
        assert signal.getsignal(signal.SIGUSR1) == handler
    with pytest.raises(TypeError):
        rel.event(None)
    assert rel.report() == before
    rel.dispatch()  # nothing registered: returns at once


@pytest.mark.parametrize("thing", [object(), "3", 3.0, None, b"x", True])
def test_object_without_fileno_is_type_error(rel, thing):
    with pytest.raises(TypeError):
        rel.read(thing, noop)
    with pytest.raises(TypeError):
        rel.write(thing, noop)
    assert rel.report() == EMPTY


def test_fileno_returning_junk_is_type_error(rel):
    class Junk:
        def fileno(self):
            return "seven"

    with pytest.raises(TypeError):
        rel.read(Junk(), noop)
    assert rel.report() == EMPTY


def test_negative_fd_is_value_error(rel):
    with pytest.raises(ValueError):
        rel.read(-1, noop)
    with pytest.raises(ValueError):
        rel.error(-5, noop)
    assert rel.report() == EMPTY


def test_closed_socket_object_is_value_error(rel):
    a, b = socket.socketpair()
    a.close()
    b.close()
    with pytest.raises(ValueError):  # a closed socket object reports fd -1
        rel.read(a, noop)
    assert rel.report() == EMPTY


def test_closed_file_object_is_value_error(rel):
    r, w = os.pipe()
    f = os.fdopen(r, "rb")
    os.close(w)
    f.close()
    with pytest.raises(ValueError):  # io objects raise ValueError from fileno() once closed
        rel.read(f, noop)
    assert rel.report() == EMPTY


@posix_fds
@pytest.mark.parametrize("kind", ["read", "write", "error"])
def test_closed_fd_is_os_error_and_can_be_registered_once_valid(rel, kind, settle):
    r2, w2 = os.pipe()  # before the close, so that it does not take r's number
    r, w = os.pipe()
    os.close(r)
    before = rel.report()
    with pytest.raises(OSError):
        getattr(rel, kind)(r, noop)
    assert rel.report() == before
    rel.dispatch()  # nothing half-registered: returns at once
    # the same number, valid again
    try:
        os.dup2(r2, r)
        os.write(w2, b"x")
        got = []
        watcher = rel.read(r, lambda: got.append(os.read(r, 10)))
        assert watcher.pending()
        settle()
        assert got == [b"x"]
    finally:
        for fd in (r, r2, w, w2):
            os.close(fd)


def test_regular_file_fails_cleanly_or_works(rel, settle):
    """epoll refuses regular files (EPERM); poll and select call them always
    ready. Either is fine, as long as a refusal leaves nothing behind."""
    with tempfile.TemporaryFile() as f:
        f.write(b"data")
        f.seek(0)
        got = []
        try:
            rel.read(f, lambda: got.append(f.read()))
        except OSError:
            assert rel.report() == EMPTY
            rel.dispatch()
            return
        settle()
        assert got == [b"data"]


def test_bad_delays(rel):
    with pytest.raises(TypeError):
        rel.timeout("1", noop)
    with pytest.raises(ValueError):
        rel.timeout(float("nan"), noop)
    assert rel.report() == EMPTY


def test_bad_signals(rel):
    before = rel.report()
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    with pytest.raises((ValueError, OSError)):
        rel.signal(0, noop)
    with pytest.raises(TypeError):
        rel.signal("SIGUSR1", noop)
    if hasattr(signal, "SIGKILL"):
        with pytest.raises(OSError):  # the kernel refuses
            rel.signal(signal.SIGKILL, noop)
    assert rel.report() == before
    assert signal.set_wakeup_fd(wakeup_fd) == wakeup_fd, "the wake-up fd was not given back"
    rel.dispatch()


def test_signal_from_non_main_thread_is_logged_not_raised(rel, rel_logs):
    if not hasattr(signal, "SIGUSR1"):
        pytest.skip("no SIGUSR1")
    handler = signal.getsignal(signal.SIGUSR1)
    out = {}

    def worker():
        try:
            w = rel.signal(signal.SIGUSR1, noop)
            out["pending"] = w.pending()
        except BaseException as exc:  # noqa: B036 - the test reports it
            out["exc"] = exc

    t = threading.Thread(target=worker, name="rel-test-worker")
    t.start()
    t.join(10)
    assert "exc" not in out, out.get("exc")
    assert out["pending"] is False
    assert signal.getsignal(signal.SIGUSR1) == handler
    assert rel.report()["signals"] == 0
    infos = [r for r in rel_logs.records if r.name == "rel" and r.levelno == logging.INFO]
    assert any("main thread" in r.getMessage() for r in infos), [r.getMessage() for r in rel_logs.records]


# -- fds closed while registered (see the module docstring) ------------------------------------------
def _check_fate(pending, rel_logs):
    """The two acceptable fates of a stale watcher (see the module docstring)."""
    if not pending:
        assert any(r.levelno >= logging.WARNING and r.name == "rel" for r in rel_logs.records)


def test_closed_while_registered_loop_goes_on(rel, socks, handle, guard, rel_logs):
    a, b = socks()
    c, d = socks()
    stale_fired = []
    stale = rel.read(handle(a), lambda: stale_fired.append(1) or True)
    a.close()
    got = []

    fate = []

    def on_read():
        got.append(c.recv(10))
        if len(got) == 1:
            rel.timeout(0.02, lambda: d.send(b"2") and None)
        else:
            fate.append(stale.pending())
            rel.abort()
        return True

    rel.read(handle(c), on_read)
    g = guard()
    rel.timeout(0.02, lambda: d.send(b"1") and None)
    rel.dispatch()  # must not raise
    assert not g.expired
    assert got == [b"1", b"2"]
    assert stale_fired == []
    _check_fate(fate[0], rel_logs)
    stale.delete()  # quietly
    assert not stale.pending()


def test_closed_while_registered_only_watcher(rel, socks, guard, rel_logs):
    a, b = socks()
    w = rel.write(a, lambda: True)
    w2 = rel.read(a, lambda: True)
    a.close()
    fate = []
    rel.timeout(0.2, lambda: fate.append((w.pending(), w2.pending())))
    g = guard(0.3)
    rel.dispatch()  # never raises; ends by the guard (pending) or by itself (dropped)
    for pending in fate[0]:
        _check_fate(pending, rel_logs)
    if any(fate[0]):
        assert g.expired
    rel.init()


@posix_fds
def test_armed_from_a_callback_on_an_fd_closed_under_its_reader(rel, socks, guard, rel_logs):
    # Two int-fd watchers share one socket "object" (the number), so the
    # writer takes the engine's direct path for joining an fd's watchers: the
    # poller's refusal must send it the full way, to the same two outcomes.
    a, b = socks()
    fd = a.detach()
    reader = rel.read(fd, lambda: True)
    outcome = []

    def close_then_arm():
        os.close(fd)
        try:
            outcome.append(rel.write(fd, lambda: outcome.append("fired")))
        except OSError as exc:
            outcome.append(exc)

    later = []
    rel.timeout(0, close_then_arm)
    rel.timeout(0.2, lambda: later.append((reader.pending(), rel.report())))
    rel.timeout(0.3, rel.abort)
    g = guard(3)
    rel.dispatch()
    assert not g.expired
    assert "fired" not in outcome
    (what,) = outcome
    if not isinstance(what, OSError):  # a poller keyed by the open file refuses the number at
        assert not what.pending()  # once; one keyed by number takes it, and finds it closed
    _check_fate(False, rel_logs)
    # before abort(): the reader is dropped either way (its fd is gone), and no writer is left
    assert later == [(False, dict(EMPTY, timers=2))]  # this test's abort timer and the guard's


def test_closed_in_own_callback(rel, tcp_pair, socks, handle):
    """The everyday case: EOF, close, return falsy."""
    a, b = socks()
    got = []

    def on_read():
        data = a.recv(10)
        got.append(data)
        if not data:
            a.close()
        return bool(data)

    rel.read(handle(a), on_read)
    b.send(b"x")
    rel.loop()
    b.close()
    rel.dispatch()  # EOF: the callback closes the socket and returns falsy: nothing left
    assert got == [b"x", b""]
    assert rel.report() == EMPTY


def test_closed_in_own_callback_kept_by_truthy_return(rel, socks, guard):
    a, b = socks()
    c, d = socks()
    got = []

    def on_read():
        got.append("a")
        a.close()
        return True  # a stale watcher, kept by mistake: the loop must cope

    rel.read(a, on_read)
    b.send(b"x")
    rel.read(c, lambda: got.append(c.recv(10)) or rel.abort())
    g = guard()
    rel.timeout(0.05, lambda: d.send(b"y") and None)
    rel.dispatch()
    assert not g.expired
    assert got[0] == "a" and b"y" in got
    assert got.count("a") == 1


def stale_on_a_reused_number(socks: Any, reuse: str, arm: Any) -> Tuple[Any, socket.socket, socket.socket]:
    """``arm(a)`` a watcher on a socket ``a``, close ``a`` behind rel's back and
    let a new file take its number: by ``dup2`` onto it (POSIX), or by a new
    socketpair (skipped if the kernel gives it another number). Returns (the
    stale watcher, the new socket on that number, its peer). A dup2'ed new
    socket is the caller's to close."""
    if reuse == "dup2" and WINDOWS:
        pytest.skip(POSIX_FDS_REASON)
    a, _ = socks()
    if reuse == "dup2":
        c, d = socks()  # before the close, so that it does not take a's number
    num = a.fileno()
    stale = arm(a)
    a.close()
    if reuse == "dup2":
        os.dup2(c.fileno(), num)  # num is now another handle on c's socket
        new = socket.socket(fileno=num)
        new.setblocking(False)
    else:
        new, d = socks()
        if new.fileno() != num:
            d.close()
            pytest.skip("the kernel did not reuse the number")
    return stale, new, d


@pytest.mark.parametrize("armed_from", ["outside the loop", "a callback"])
@pytest.mark.parametrize("reuse", ["dup2", "new socket"])
@pytest.mark.parametrize("new_kind", ["read", "write"])
def test_closed_then_number_reused(rel, socks, handle, guard, reuse, new_kind, armed_from):
    # "a callback": the new watcher is armed in the loop's thread, where the
    # engine's direct path for a watcher joining its fd's others is tried
    # first; the stale watcher's other socket object must send it the full way.
    stale_fired = []
    stale, new, d = stale_on_a_reused_number(
        socks, reuse, lambda a: rel.read(a, lambda: stale_fired.append(1) or True))
    try:
        got = []
        armed = []

        def arm():
            d.send(b"x")  # the new file is readable: a stale reader left in place would fire
            if new_kind == "read":
                armed.append(rel.read(handle(new), lambda: got.append(new.recv(10))))
            else:
                armed.append(rel.write(handle(new), lambda: got.append("writable")))
            assert armed[0].pending()

        if armed_from == "a callback":
            rel.timeout(0, arm)
        else:
            arm()
        g = guard(3)
        rel.timeout(0.1, rel.abort)  # what is ready fires first, in the same pass at worst
        rel.dispatch()
        assert not g.expired
        assert len(armed) == 1
        assert got == ([b"x"] if new_kind == "read" else ["writable"])
        assert stale_fired == [], "the stale watcher fired for the new file"
        # a new reader replaces the stale one; a new writer finds it stale and drops it
        assert not stale.pending()
    finally:
        if reuse == "dup2":
            new.close()


@pytest.mark.parametrize("armed_from", ["outside the loop", "a callback"])
@pytest.mark.parametrize("reuse", ["dup2", "new socket"])
@pytest.mark.parametrize("stale_kind", ["write", "error"])
def test_a_stale_watcher_of_another_kind_is_dropped_when_the_number_is_reused(
        rel, socks, guard, reuse, stale_kind, armed_from):
    """A writer or an error watcher left on a closed socket's number, and a
    reader armed on the new file that took the number: the stale watcher is
    dropped, and never fires for the new file (when it turns writable, when
    its peer hangs up). From a callback, the engine's direct path for a
    watcher joining its fd's others must not take the stale one for a
    companion of the new socket."""
    stale_fired = []
    stale, new, d = stale_on_a_reused_number(
        socks, reuse, lambda a: getattr(rel, stale_kind)(a, lambda: stale_fired.append(1) or True))
    fill(new)  # unwritable until its peer reads: a stale writer stays quiet until then
    try:
        got = []

        def arm():
            reader = rel.read(new, lambda: got.append(new.recv(10)))
            assert reader.pending()
            if stale_kind == "write":
                while True:  # the new file turns writable
                    try:
                        if not d.recv(1 << 20):
                            break
                    except BlockingIOError:
                        break
                d.send(b"y")
            else:
                d.send(b"y")
                d.close()  # a hang-up: an error watcher's condition

        if armed_from == "a callback":
            rel.timeout(0, arm)
        else:
            arm()
        g = guard(3)
        rel.timeout(0.1, rel.abort)
        rel.dispatch()
        assert not g.expired
        assert got and got[0] == b"y"
        assert stale_fired == [], "the stale %s watcher fired for the new file" % stale_kind
        assert not stale.pending()
    finally:
        if reuse == "dup2":
            new.close()


@posix_fds
def test_unregister_after_close_and_reuse(rel, socks):
    """CPython's test_unregister_after_fd_close_and_reuse, through delete()."""
    a, b = socks()
    c, d = socks()
    num = a.fileno()
    w = rel.read(a, noop)
    a.close()
    os.dup2(c.fileno(), num)
    try:
        w.delete()
        assert not w.pending()
        assert rel.report() == EMPTY
    finally:
        os.close(num)


def test_registrar_survives_many_closed_fds(rel, socks, guard):
    pairs = [socks() for _ in range(20)]
    for a, _ in pairs:
        rel.read(a, lambda: True)
    for a, _ in pairs[:-1]:
        a.close()
    last_a, last_b = pairs[-1]
    got = []
    rel.read(last_a, lambda: got.append(last_a.recv(10)))
    last_b.send(b"z")
    g = guard()
    rel.timeout(0.2, rel.abort)
    rel.dispatch()
    assert got == [b"z"]
    assert not g.expired
    assert facade.registrar is not None
