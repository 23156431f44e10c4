"""Debug mode and the loop's figures (rel_core.debug), on every registrar.

Each message is provoked for real (a callback that sleeps, an fd closed while
registered, a timer that re-arms at 0 s) and its content is checked: the
callback's qualified name and ``file:line``, its watcher, the time measured.
Times are bounded loosely: a sleep of S seconds is measured as at least S.
"""

from __future__ import annotations

import logging
import sys
import os
import re
import signal
import socket
import time

import pytest

import rel_core.rel as facade
from rel_core import busy_loop, debug, discovery
from rel_core.timerheap import TimerHeap
from relcore_testing import SLACK

THRESHOLD = 0.05
NAP = 0.12  # a slow callback's sleep: well above THRESHOLD, well below any guard

SLOW = re.compile(r"rel: slow callback (?P<name>\S+) \((?P<file>.+):(?P<line>\d+)\), of the "
                  r"(?P<watcher>.+), took (?P<took>[\d.]+) s \(threshold (?P<thr>[\d.]+) s\)$")
LAG = re.compile(r"rel: loop lag: timers ran (?P<lag>[\d.]+) s after their deadline "
                 r"\(threshold [\d.]+ s\); the loop was held by (?P<name>\S+) \((?P<file>.+):"
                 r"(?P<line>\d+)\), of the (?P<watcher>.+), for (?P<held>[\d.]+) s of it")
BUSY = re.compile(r"rel: busy loop: the loop has not blocked for (?P<for>[\d.]+) s \(\d+ passes\); "
                  r"culprit: (?P<name>\S+) \((?P<file>.+):(?P<line>\d+)\), of the (?P<watcher>.+), "
                  r"which ran on (?P<runs>\d+) of the last (?P<of>\d+) passes: (?P<what>.+)$")


def warnings(rel_logs, pattern):
    found = []
    for r in rel_logs.records:
        if r.name == "rel" and r.levelno == logging.WARNING:
            m = pattern.match(r.getMessage())
            if m:
                found.append(m)
    return found


def line_of(f):
    return f.__code__.co_firstlineno


def assert_names(m, f):
    """The message names ``f``: qualified name, this file, its def line."""
    assert m["name"] == f.__qualname__
    assert os.path.basename(m["file"]) == "test_debug.py"
    assert int(m["line"]) == line_of(f)


def the_slow_warning(rel, guard, rel_logs, f, watcher):
    """Dispatch (bounded), then the one slow-callback warning: it names ``f``
    and ``watcher``. Returned for the caller's further checks."""
    g = guard()
    rel.dispatch()
    assert not g.expired
    (m,) = warnings(rel_logs, SLOW)
    assert_names(m, f)
    assert m["watcher"] == watcher
    return m


# -- slow callbacks ------------------------------------------------------------------------------
def test_slow_read_callback(rel, socks, guard, rel_logs):
    debug.enable(THRESHOLD)
    a, b = socks()

    def slow():
        a.recv(10)
        time.sleep(NAP)
        rel.abort()

    rel.read(a, slow)
    b.send(b"x")
    m = the_slow_warning(rel, guard, rel_logs, slow, "read watcher on fd %d" % a.fileno())
    assert float(m["took"]) >= NAP
    assert float(m["thr"]) == THRESHOLD


def test_slow_write_and_error_callbacks(rel, socks, guard, rel_logs):
    debug.enable(THRESHOLD)
    a, b = socks()
    c, d = socks()

    def slow_writer():
        time.sleep(NAP)

    def slow_error():
        time.sleep(NAP)

    rel.write(a, slow_writer)
    rel.error(c, slow_error)
    d.close()  # a hang-up: the error watcher's condition
    g = guard()
    rel.timeout(0.5, rel.abort)  # both naps, with room
    rel.dispatch()
    assert not g.expired
    found = {m["name"]: m for m in warnings(rel_logs, SLOW)}
    assert set(found) == {slow_writer.__qualname__, slow_error.__qualname__}
    assert_names(found[slow_writer.__qualname__], slow_writer)
    assert found[slow_writer.__qualname__]["watcher"] == "write watcher on fd %d" % a.fileno()
    assert found[slow_error.__qualname__]["watcher"] == "error watcher on fd %d" % c.fileno()
    assert all(float(m["took"]) >= NAP for m in found.values())


def test_a_watcher_armed_again_from_a_callback_is_measured(rel, socks, guard, rel_logs):
    # The writer is not armed when debug mode turns on, so only its next arm
    # can wrap it: an add() from a callback, on an fd whose reader shares its
    # socket, which is the engine's direct path (debug mode must close it).
    a, b = socks()

    def slow_writer():
        time.sleep(NAP)
        rel.abort()

    writer = rel.write(a, slow_writer)
    writer.delete()
    debug.enable(THRESHOLD)

    def on_read():
        a.recv(10)
        writer.add()

    rel.read(a, on_read)
    b.send(b"x")
    the_slow_warning(rel, guard, rel_logs, slow_writer, "write watcher on fd %d" % a.fileno())


@pytest.mark.skipif(sys.platform == "win32", reason='its signal is SIGUSR1, which Windows lacks')
def test_slow_timer_and_signal_callbacks(rel, guard, rel_logs):
    debug.enable(THRESHOLD)

    def slow_timer():
        time.sleep(NAP)
        os.kill(os.getpid(), signal.SIGUSR1)

    def slow_signal():
        time.sleep(NAP)
        rel.abort()

    rel.timeout(0.01, slow_timer)
    sw = rel.signal(signal.SIGUSR1, slow_signal)
    g = guard()
    rel.dispatch()
    sw.delete()
    assert not g.expired
    found = {m["name"]: m for m in warnings(rel_logs, SLOW)}
    assert set(found) == {slow_timer.__qualname__, slow_signal.__qualname__}
    assert_names(found[slow_timer.__qualname__], slow_timer)
    assert found[slow_timer.__qualname__]["watcher"] == "timer (delay 0.01 s)"
    assert found[slow_signal.__qualname__]["watcher"] == "signal %d (SIGUSR1)" % signal.SIGUSR1


def test_slow_pyevent_event_names_the_users_callback(rel, socks, guard, rel_logs):
    debug.enable(THRESHOLD)
    a, b = socks()

    def on_event(ev, handle, evtype, arg):
        a.recv(10)
        time.sleep(NAP)
        rel.abort()

    rel.event(on_event, None, rel.EV_READ, a).add()
    b.send(b"x")
    the_slow_warning(rel, guard, rel_logs, on_event, "read watcher on fd %d" % a.fileno())


def test_below_threshold_no_warning_but_counted(rel, rel_logs):
    debug.enable(0.5)

    def short():
        time.sleep(0.02)

    rel.timeout(0, short)
    rel.loop()
    assert warnings(rel_logs, SLOW) == []
    slowest = rel.report()["slowest"]
    assert slowest[0][0].startswith(short.__qualname__ + " (")
    assert slowest[0][1] >= 0.02


def test_callback_exceptions_and_abort_branch_pass_through(rel, guard):
    debug.enable(THRESHOLD)

    def boom():
        raise ValueError("boom")

    t = rel.timeout(0, boom)
    with pytest.raises(ValueError, match="boom"):
        rel.dispatch()
    assert not t.pending()  # raised: counts as falsy, as without debug
    ran = []
    rel.timeout(0, rel.abort_branch)
    rel.timeout(0.01, lambda: ran.append(1))
    rel.dispatch()
    assert ran == [1]


# -- loop lag ------------------------------------------------------------------------------------------
def test_loop_lag_names_the_callback_that_held_the_loop(rel, socks, guard, rel_logs):
    debug.enable(THRESHOLD)
    a, b = socks()
    fired = []

    def hog():
        a.recv(10)
        time.sleep(0.25)

    due = time.monotonic() + 0.02
    rel.timeout(0.02, lambda: fired.append(time.monotonic()) or rel.abort())
    rel.read(a, hog)
    b.send(b"x")
    g = guard()
    rel.dispatch()
    assert not g.expired
    (m,) = warnings(rel_logs, LAG)
    assert_names(m, hog)
    assert m["watcher"] == "read watcher on fd %d" % a.fileno()
    assert float(m["lag"]) >= 0.25 - 0.02 - 0.01
    assert float(m["lag"]) <= fired[0] - due + 0.01
    assert float(m["held"]) >= 0.2


def test_no_lag_warning_when_on_time(rel, rel_logs):
    """Lag is lateness past the deadline, not the delay: timers longer than
    the threshold that fire on time are no lag."""
    debug.enable(0.25)
    rel.timeout(0.4, lambda: None)
    rel.timeout(0.5, lambda: None)
    rel.dispatch()
    assert not [r for r in rel_logs.records if "loop lag" in r.getMessage()]


def test_a_negative_delay_is_no_lag(rel, rel_logs):
    """A negative delay's deadline is in the past by design (as rel
    0.4.9.27's): it is due when armed, and lag is lateness past that."""
    debug.enable(0.25)
    got = []
    rel.timeout(-5, got.append, 1)
    rel.timeout(-1.5, got.append, 2)
    rel.dispatch()
    assert got == [1, 2]
    assert not [r for r in rel_logs.records if "loop lag" in r.getMessage()]


# -- an fd closed while registered -------------------------------------------------------------------
def test_dropped_watcher_says_where_it_was_registered(rel, socks, guard, rel_logs):
    debug.enable()
    a, b = socks()
    c, d = socks()
    num = a.fileno()

    def register_the_reader():
        return rel.read(a, lambda: True)

    stale = register_the_reader()
    a.close()
    rel.loop(True)  # poll, select, /dev/poll notice the closed fd here
    extra = None
    if stale.pending():
        # epoll and selectors forget a closed fd without a word: they notice
        # when a watcher of another kind changes their interest in the number.
        os.dup2(c.fileno(), num)
        extra = socket.socket(fileno=num)
        rel.write(extra, lambda: None)
    try:
        if stale.pending():
            pytest.skip("this registrar is never told that the fd was closed (kqueue)")
        drops = [r.getMessage() for r in rel_logs.records
                 if r.levelno == logging.WARNING and "had been registered at" in r.getMessage()]
        assert len(drops) == 1, drops
        text = drops[0]
        assert text.startswith("rel: the read watcher on fd %d dropped (fd %d closed while "
                               "registered), callback " % (num, num))
        # the registration stack: this test's call, file, line and code
        call_line = line_of(register_the_reader) + 1
        assert 'test_debug.py", line %d, in register_the_reader' % call_line in text
        assert "return rel.read(a, lambda: True)" in text
        assert "rel_core" not in text.split("registered at")[1]  # rel's own frames left out
    finally:
        if extra is not None:
            extra.close()


# -- busy loops -----------------------------------------------------------------------------------------
@pytest.fixture
def quick_busy(monkeypatch):
    """The busy-loop watch looks after 0.3 s instead of 1 s: these tests spin a
    CPU core on every registrar, and a third of a second shows the same."""
    monkeypatch.setattr(busy_loop, "BUSY_AFTER", 0.3)
    return 0.3


def test_busy_zero_second_timer_reported_once(rel, guard, rel_logs, quick_busy):
    debug.enable()

    def spin():
        return True

    t = rel.timeout(0, spin)
    g = guard()
    rel.timeout(2.3 * quick_busy, lambda: t.delete() or rel.abort())  # two looks at the busy loop
    rel.dispatch()
    assert not g.expired
    (m,) = warnings(rel_logs, BUSY)
    assert_names(m, spin)
    assert m["watcher"] == "timer (delay 0 s)"
    assert m["what"] == "a 0-second timer that re-arms itself on every pass"
    assert float(m["for"]) >= quick_busy
    assert int(m["runs"]) >= 0.9 * int(m["of"])


@pytest.mark.skipif(sys.platform == "win32", reason="the busy-fd check measures pending bytes"
                    " with FIONREAD, not answered for Windows sockets (documented: never reported)")
def test_busy_fd_whose_callback_reads_nothing(rel, socks, guard, rel_logs, quick_busy):
    debug.enable()
    a, b = socks()

    def ignore():
        return True  # never reads: the fd stays readable

    rel.read(a, ignore)
    b.send(b"abc")
    g = guard()
    rel.timeout(2.3 * quick_busy, rel.abort)
    rel.dispatch()
    assert not g.expired
    (m,) = warnings(rel_logs, BUSY)
    assert_names(m, ignore)
    assert m["watcher"] == "read watcher on fd %d" % a.fileno()
    assert m["what"] == ("fd %d stays readable and its callback leaves the 3 bytes waiting unread"
                         % a.fileno())


@pytest.mark.skipif(sys.platform == "win32", reason="it needs FIONREAD, as the busy-fd check does")
def test_busy_but_working_is_not_a_busy_loop(rel, socks, guard, rel_logs, quick_busy):
    """Ping-pong never blocks, and neither does a reader that consumes a
    little on each pass: neither is reported."""
    debug.enable()
    a, b = socks()

    def on_a():
        a.recv(1)
        a.send(b"x")
        return True

    def on_b():
        b.recv(1)
        b.send(b"x")
        return True

    rel.read(a, on_a)
    rel.read(b, on_b)
    a.send(b"x")
    r, w = os.pipe()
    try:
        os.set_blocking(w, False)
        try:
            while os.write(w, b"y" * 65536):
                pass
        except BlockingIOError:
            pass
        rel.read(r, lambda: os.read(r, 1) and True)  # one byte a pass: always ready, consuming
        g = guard()
        rel.timeout(3.5 * quick_busy, rel.abort)  # three looks
        rel.dispatch()
        assert not g.expired
        assert warnings(rel_logs, BUSY) == []
    finally:
        os.close(r)
        os.close(w)


# -- report() --------------------------------------------------------------------------------------------
def no_debug_from_the_environment():
    """Undo REL_DEBUG for this test (the suite may run under it)."""
    d = debug.diagnostics(facade.registrar)
    if d is not None:
        d.detach()


def test_report_figures_without_warnings(rel, socks, guard, rel_logs):
    no_debug_from_the_environment()
    rel.initialize([facade.method], ["report"])  # measuring only
    a, b = socks()

    def hog():
        a.recv(10)
        time.sleep(NAP)

    rel.read(a, hog)
    b.send(b"x")
    for delay in (0.01, 0.02, 0.03):
        rel.timeout(delay, lambda: None)
    rel.timeout(0.2, rel.abort)
    g = guard()
    rel.dispatch()
    assert not g.expired
    fig = rel.report()
    assert fig["passes"] >= 2
    assert fig["callbacks"] == 5  # hog, three timers, abort
    assert fig["callback_seconds"] >= NAP
    assert fig["wait_seconds"] > 0
    assert fig["callback_seconds"] + fig["wait_seconds"] <= fig["measured_seconds"] + SLACK
    assert fig["slowest"][0][0] == debug.describe_callback(hog)
    assert fig["slowest"][0][1] >= NAP
    assert fig["timer_samples"] == 4
    assert -SLACK <= fig["timer_lateness_p50"] <= fig["timer_lateness_p99"]
    assert fig["timer_lateness_p99"] >= NAP - 0.03  # the timers the hog held up
    again = rel.report()
    assert again["timer_samples"] == 0 and again["timer_lateness_p50"] is None
    assert again["callbacks"] == 5
    assert [r for r in rel_logs.records if r.levelno >= logging.WARNING] == []


def test_report_without_measuring_is_the_counts(rel):
    no_debug_from_the_environment()
    assert set(rel.report()) == {"timers", "signals", "reads", "writes", "errors"}


# -- on, off, switching -----------------------------------------------------------------------------------
def test_off_means_nothing_substituted(registrar_class, monkeypatch):
    monkeypatch.delenv("REL_DEBUG", raising=False)
    monkeypatch.setattr(debug, "_requested_threshold", None)
    monkeypatch.setattr(debug, "_requested_measure", False)
    reg = registrar_class()
    try:
        assert debug.diagnostics(reg) is None
        assert type(reg._timers) is TimerHeap
        a, b = socket.socketpair()

        def f():
            return True

        w = reg.read(a, f)
        t = reg.timeout(5, f)
        assert w.cb is f and t.cb is f  # what the loop calls is the user's callback itself
        before = dict(vars(reg))
        d = debug.enable(0.2, registrar=reg)
        assert w.cb is not f and t.cb is not f and type(reg._timers) is not TimerHeap
        assert "timer" in repr(t).lower() and '"f"' in repr(t)  # reprs name the user's callback
        d.detach()
        assert w.cb is f and t.cb is f and type(reg._timers) is TimerHeap
        assert vars(reg) == before
        w.delete()
        t.delete()
        a.close()
        b.close()
    finally:
        debug.disable(reg)
        reg.close()


@pytest.mark.parametrize("value, expected", [
    ("", None), ("0", None), ("off", None), ("1", 0.1), ("yes", 0.1), ("0.05", 0.05),
    ("2", 2.0), ("1.0", 1.0),
])
def test_rel_debug_values(value, expected):
    assert debug.parse_env(value) == expected


def test_rel_debug_nonsense_is_on_with_a_warning(caplog):
    caplog.set_level(logging.WARNING, logger="rel")
    assert debug.parse_env("lots") == debug.DEFAULT_THRESHOLD
    assert "REL_DEBUG='lots'" in caplog.text


def test_rel_debug_read_when_the_registrar_is_built(registrar_class, monkeypatch):
    monkeypatch.setattr(debug, "_requested_threshold", None)
    monkeypatch.setenv("REL_DEBUG", "0.05")
    reg = registrar_class()
    try:
        d = debug.diagnostics(reg)
        assert d is not None and d.warn and d.threshold == 0.05
    finally:
        reg.close()
    monkeypatch.setenv("REL_DEBUG", "0")
    reg = registrar_class()
    try:
        assert debug.diagnostics(reg) is None
    finally:
        reg.close()


def test_enable_rejects_bad_thresholds(rel):
    for bad in (0, -1, "0.1", True):
        with pytest.raises(ValueError):
            debug.enable(bad)  # type: ignore[arg-type]


def test_debug_option_survives_switching_registrar(rel, guard, rel_logs):
    rel.initialize([facade.method], ["debug"])
    first = facade.registrar
    assert debug.diagnostics(first) is not None

    def slow():
        time.sleep(debug.DEFAULT_THRESHOLD + 0.02)
        rel.abort()

    rel.timeout(0.01, slow)  # armed before the switch: it moves, and stays timed
    others = [n for n in discovery.available_names() if n != facade.method]
    for other in others:
        try:
            rel.initialize([other], ["strict"])
            break
        except ImportError:
            continue
    else:
        pytest.skip("no other registrar runs here to switch to")
    assert facade.registrar is not first
    assert debug.diagnostics(facade.registrar) is not None
    g = guard()
    rel.dispatch()
    assert not g.expired
    (m,) = warnings(rel_logs, SLOW)
    assert_names(m, slow)
