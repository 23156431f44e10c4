"""SPEC.md's table of public names, one contract at a time, on rel_core's facade."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time

import pytest

import rel_core
import rel_core.logs
import rel_core.registrar
import rel_core.rel as facade
from rel_core import discovery
from rel_core.errors import AbortBranch
from relcore_testing import SLACK

SPEC_NAMES = [
    "read", "write", "error", "timeout", "signal", "event", "dispatch", "loop", "abort",
    "abort_branch", "pause", "resume", "is_running", "init", "initialize", "supported_methods",
    "report", "tick", "thread", "start", "stop", "override", "set_verbose", "set_sleep",
    "set_turbo", "safe_read", "EV_TIMEOUT", "EV_READ", "EV_WRITE", "EV_SIGNAL", "EV_PERSIST",
    "__version__",
]
PYEVENT_NAMES = [
    "EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE", "abort", "dispatch",
    "event", "init", "loop", "read", "signal", "timeout", "write",
]
needs_sigusr1 = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")


def test_public_names():
    for name in SPEC_NAMES:
        assert hasattr(rel_core, name), name
        assert name in rel_core.__all__, name
    assert (rel_core.EV_TIMEOUT, rel_core.EV_READ, rel_core.EV_WRITE, rel_core.EV_SIGNAL,
            rel_core.EV_PERSIST) == (1, 2, 4, 8, 16)
    assert isinstance(rel_core.__version__, str) and rel_core.__version__


# -- read / write / error: truthy keeps, falsy deletes ----------------------------------------
def test_read_truthy_keeps_falsy_deletes(rel, socks, handle):
    a, b = socks()
    got = []

    def on_read(tag):
        got.append((tag, a.recv(100)))
        return len(got) < 2

    w = rel.read(handle(a), on_read, "t")
    assert w.pending()
    b.send(b"1")
    rel.loop()
    assert got == [("t", b"1")] and w.pending()
    b.send(b"2")
    rel.loop()
    assert got[-1] == ("t", b"2") and not w.pending()
    assert rel.report()["reads"] == 0


def test_write_watcher(rel, socks, handle):
    a, b = socks()
    got = []
    w = rel.write(handle(a), lambda: got.append("w"))
    assert rel.report()["writes"] == 1
    rel.dispatch()  # writable at once; falsy: deleted; nothing left
    assert got == ["w"] and not w.pending()
    assert rel.report()["writes"] == 0


def test_persistent_keeps_watcher_whatever_it_returns(rel, socks, handle):
    a, b = socks()
    got = []
    w = rel.read(handle(a), lambda: got.append(a.recv(10)))
    w.persistent()
    for data in (b"1", b"2"):
        b.send(data)
        rel.loop()
    assert got == [b"1", b"2"]
    assert w.pending()
    w.delete()
    assert not w.pending()


def test_watcher_delete_add_dereference(rel, socks, handle):
    a, b = socks()
    got = []
    w = rel.read(handle(a), lambda: got.append(a.recv(10)))
    w.delete()
    assert not w.pending()
    assert rel.report()["reads"] == 0
    b.send(b"x")
    rel.dispatch()
    assert got == []
    w.add()
    assert w.pending()
    assert rel.report()["reads"] == 1
    rel.loop()
    assert got == [b"x"]
    w.add()
    w.dereference()
    assert not w.pending()
    assert w.cb is None
    assert rel.report()["reads"] == 0


def test_socketio_add_with_delay_runs_callback_once(rel, socks):
    """rel's SocketIO.add(delay): also run the callback after ``delay`` if the
    watcher is still armed then, with no traffic."""
    a, b = socks()
    got = []
    w = rel.read(a, lambda: got.append(time.monotonic()) or True)
    start = time.monotonic()
    w.add(0.05)
    rel.timeout(0.3, rel.abort)
    rel.dispatch()
    assert len(got) == 1 and got[0] - start >= 0.05 - SLACK
    assert not w.pending()  # deleted by abort()


def test_error_watcher_reports_count(rel, socks, handle):
    a, b = socks()
    w = rel.error(handle(a), lambda: None)
    assert w.pending()
    assert rel.report()["errors"] == 1
    w.delete()
    assert rel.report()["errors"] == 0


# -- timeout ---------------------------------------------------------------------------------
def test_timeout_never_early(rel):
    got = []
    start = time.monotonic()
    for d in (0.01, 0.03, 0.05):
        rel.timeout(d, lambda d=d: got.append((d, time.monotonic() - start)))
    rel.dispatch()
    assert [d for d, _ in got] == [0.01, 0.03, 0.05]
    assert all(elapsed >= d - SLACK for d, elapsed in got), got


def test_negative_delay_is_due_at_once_and_reads_back_as_given(rel):
    got = []
    t = rel.timeout(-5, got.append, "neg")
    assert t.pending() and t.delay == -5
    rel.loop()
    assert got == ["neg"]
    t.add(-1.5)
    assert t.delay == -1.5
    rel.loop()
    assert got == ["neg", "neg"]


def test_a_negative_delay_that_re_arms_runs_once_a_pass_and_io_goes_on(rel, socks):
    """Re-armed, its deadline is again in the past: due at once, but a pass
    runs only the timers armed before it, so I/O keeps its turn."""
    a, b = socks()
    runs = []
    read = []

    def again():
        runs.append(rel.tick())
        if len(runs) == 3:
            b.send(b"x")
        return len(runs) < 50

    def on_read():
        read.append(a.recv(16))
        rel.abort()

    rel.timeout(-1, again)
    rel.read(a, on_read)
    rel.dispatch()
    assert read == [b"x"] and 3 <= len(runs) < 50
    assert len(set(runs)) == len(runs)  # never twice in one pass


def test_truthy_return_rearms_with_same_delay(rel):
    got = []

    def cb():
        got.append(time.monotonic())
        return len(got) < 3

    t = rel.timeout(0.02, cb)
    rel.dispatch()
    assert len(got) == 3
    assert all(b - a >= 0.02 - SLACK for a, b in zip(got, got[1:]))
    assert not t.pending()


def test_timer_none_unarmed_until_add(rel):
    got = []
    t = rel.timeout(None, got.append, 1)
    assert not t.pending()
    assert rel.report()["timers"] == 0
    t.add()  # no delay ever given: stays unarmed
    assert not t.pending()
    rel.dispatch()
    assert got == []
    t.add(0)
    rel.dispatch()
    assert got == [1]
    t.add()  # the last delay again
    rel.dispatch()
    assert got == [1, 1]


def test_timer_delete_dereference(rel):
    t = rel.timeout(10, lambda: None)
    t.delete(True)
    assert not t.pending() and t.cb is None
    assert rel.report()["timers"] == 0


# -- signal -------------------------------------------------------------------------------------
@needs_sigusr1
def test_signal_persistent_until_delete_which_restores_handler(rel, guard):
    seen = []

    def previous(signum, frame):
        seen.append("previous")

    signal.signal(signal.SIGUSR1, previous)
    got = []
    s = rel.signal(signal.SIGUSR1, got.append, "usr1")
    assert s.pending()
    assert rel.report()["signals"] == 1
    g = guard()
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.05, os.kill, os.getpid(), signal.SIGUSR1)
    rel.timeout(0.3, rel.abort)
    rel.dispatch()
    assert got == ["usr1", "usr1"]
    assert not g.expired
    assert s.pending()
    s.delete()
    assert not s.pending()
    assert rel.report()["signals"] == 0
    assert signal.getsignal(signal.SIGUSR1) is previous


@needs_sigusr1
def test_signal_reset_restores_handler_and_disarms_all(rel):
    before = signal.getsignal(signal.SIGUSR1)
    s1 = rel.signal(signal.SIGUSR1, lambda: None)
    s2 = rel.signal(signal.SIGUSR1, lambda: None)
    assert rel.report()["signals"] == 2
    assert signal.getsignal(signal.SIGUSR1) is not before
    s1.reset()
    assert not s1.pending() and not s2.pending()
    assert signal.getsignal(signal.SIGUSR1) == before
    assert rel.report()["signals"] == 0
    s2.add()
    assert s2.pending()


# -- event: pyevent's object ----------------------------------------------------------------------
def test_event_timer(rel):
    got = []
    ev = rel.event(lambda *a: got.append(a), arg="x")
    assert not ev.pending()
    ev.add(0.01)
    assert ev.pending()
    rel.dispatch()
    assert got == [(ev, None, rel.EV_TIMEOUT, "x")]
    assert not ev.pending()


def test_event_read_not_persistent(rel, socks, handle):
    a, b = socks()
    h = handle(a)
    got = []
    ev = rel.event(lambda e, hd, evtype, arg: got.append((e, hd, evtype, arg, a.recv(10))),
                   "arg", rel.EV_READ, h)
    ev.add()
    b.send(b"x")
    rel.dispatch()
    assert got == [(ev, h, rel.EV_READ, "arg", b"x")]
    assert not ev.pending()


def test_event_read_persist(rel, socks, handle):
    a, b = socks()
    got = []
    ev = rel.event(lambda e, hd, evtype, arg: got.append(a.recv(10)),
                   evtype=rel.EV_READ | rel.EV_PERSIST, handle=handle(a))
    ev.add()
    for data in (b"1", b"2", b"3"):
        b.send(data)
        rel.loop()
    assert got == [b"1", b"2", b"3"]
    assert ev.pending()
    ev.delete()
    assert not ev.pending()
    assert rel.report()["reads"] == 0


def test_event_read_timeout_fires_ev_timeout(rel, socks, handle):
    a, b = socks()
    got = []
    ev = rel.event(lambda e, hd, evtype, arg: got.append(evtype), evtype=rel.EV_READ, handle=handle(a))
    start = time.monotonic()
    ev.add(0.05)
    rel.dispatch()
    assert got == [rel.EV_TIMEOUT]
    assert time.monotonic() - start >= 0.05 - SLACK
    assert not ev.pending()
    assert rel.report() == {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}


def test_event_read_before_timeout(rel, socks):
    a, b = socks()
    got = []
    ev = rel.event(lambda e, hd, evtype, arg: got.append(evtype), evtype=rel.EV_READ, handle=a)
    ev.add(5)
    b.send(b"x")
    rel.dispatch()  # read fires, deletes the whole event (timeout included): nothing left
    assert got == [rel.EV_READ]
    assert not ev.pending()


def test_event_write(rel, socks, handle):
    a, b = socks()
    got = []
    rel.event(lambda e, hd, evtype, arg: got.append(evtype), evtype=rel.EV_WRITE, handle=handle(a)).add()
    rel.dispatch()
    assert got == [rel.EV_WRITE]


def test_event_readd_in_callback(rel):
    got = []

    def cb(ev, handle, evtype, arg):
        got.append(evtype)
        if len(got) < 3:
            ev.add(0.01)

    rel.event(cb).add(0.01)
    rel.dispatch()
    assert got == [rel.EV_TIMEOUT] * 3


@needs_sigusr1
def test_event_signal(rel, settle):
    got = []

    def cb(ev, sig, evtype, arg):
        got.append((sig, evtype, arg))
        ev.delete()

    ev = rel.event(cb, "a", rel.EV_SIGNAL, signal.SIGUSR1)
    ev.add()
    assert ev.pending()
    rel.timeout(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    settle()
    assert got == [(signal.SIGUSR1, rel.EV_SIGNAL, "a")]


# -- dispatch / loop / abort / pause --------------------------------------------------------------
def test_dispatch_with_nothing_registered_returns(rel):
    rel.dispatch()
    assert not rel.is_running()


def test_dispatch_inside_callback_does_nothing(rel):
    got = []

    def cb():
        rel.dispatch()  # a second call while running does nothing
        got.append(rel.is_running())

    rel.timeout(0, cb)
    rel.dispatch()
    assert got == [True]
    assert not rel.is_running()


def test_loop_nonblock_does_not_wait(rel):
    got = []
    t = rel.timeout(30, got.append, 1)
    start = time.monotonic()
    rel.loop(True)
    rel.loop(nonblock=True)
    assert time.monotonic() - start < 10
    assert got == [] and t.pending()
    t.delete()


def test_loop_waits_for_first_ready(rel):
    got = []
    start = time.monotonic()  # before the timer: its deadline counts from its own add()
    rel.timeout(0.05, got.append, 1)
    rel.timeout(10, got.append, 2)
    rel.loop()
    assert got == [1]
    assert time.monotonic() - start >= 0.05 - SLACK
    rel.init()


def test_abort_deletes_io_keeps_timers_and_signals(rel, socks, guard):
    a, b = socks()
    r = rel.read(a, lambda: True)
    w = rel.write(a, lambda: True)
    e = rel.error(a, lambda: True)
    t = rel.timeout(60, lambda: None)
    s = rel.signal(signal.SIGUSR1, lambda: None) if hasattr(signal, "SIGUSR1") else None
    g = guard()
    rel.timeout(0.02, rel.abort)
    rel.dispatch()
    assert not g.expired
    assert not rel.is_running()
    assert not (r.pending() or w.pending() or e.pending())
    assert t.pending()
    report = rel.report()
    assert (report["reads"], report["writes"], report["errors"]) == (0, 0, 0)
    assert report["timers"] == 2  # t and the guard
    if s is not None:
        assert s.pending() and report["signals"] == 1


def test_abort_branch_is_swallowed(rel, socks):
    a, b = socks()
    b.send(b"x")
    got = []

    def on_read():
        got.append("read")
        if len(got) == 1:
            rel.abort_branch()
        return False

    def on_timer():
        got.append("timer")
        rel.abort_branch()
        return True

    w = rel.read(a, on_read)
    t = rel.timeout(0, on_timer)
    rel.loop()  # nothing raised
    assert w.pending(), "AbortBranch leaves an I/O watcher as it was"
    assert not t.pending(), "a timer that fired is not re-armed after AbortBranch"
    rel.dispatch()
    assert got == ["read", "timer", "read"]
    with pytest.raises(AbortBranch):
        rel.abort_branch()


def test_pause_resume(rel, request):
    if "asyncio-awaited" in request.node.name:
        # pause() ends the await; the asyncio loop, still running for a moment
        # (run_until_complete stops one iteration later), fires what is armed.
        pytest.skip("after the await ends, rel's watchers fire while asyncio's loop runs")
    got = []

    def cb():
        got.append(len(got))
        if len(got) == 2:
            rel.pause()
        return len(got) < 4

    t = rel.timeout(0, cb)
    rel.dispatch()
    assert got == [0, 1]
    assert not rel.is_running()
    assert t.pending(), "pause() deletes nothing"
    rel.resume()
    assert got == [0, 1, 2, 3]
    assert not t.pending()


def test_is_running(rel):
    seen = []
    assert not rel.is_running()
    rel.timeout(0, lambda: seen.append(rel.is_running()))
    rel.dispatch()
    assert seen == [True]
    assert not rel.is_running()


def test_loop_is_not_dispatch(rel):
    seen = []
    rel.timeout(0, lambda: seen.append(rel.is_running()))
    rel.loop()
    assert seen == [False]


def test_init_forgets_everything(rel, socks):
    a, b = socks()
    before = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
    watchers = [rel.read(a, lambda: True), rel.write(a, lambda: True), rel.error(a, lambda: True),
                rel.timeout(1, lambda: True)]
    if before is not None:
        watchers.append(rel.signal(signal.SIGUSR1, lambda: None))
    rel.init()
    assert not any(w.pending() for w in watchers)
    assert rel.report() == {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}
    if before is not None:
        assert signal.getsignal(signal.SIGUSR1) == before
    rel.dispatch()  # nothing left
    got = []
    rel.timeout(0, got.append, 1)  # and usable again
    rel.dispatch()
    assert got == [1]


# -- initialize --------------------------------------------------------------------------------------
def test_supported_methods():
    assert isinstance(rel_core.supported_methods, list)
    for name in ("epoll", "kqueue", "devpoll", "poll", "select"):
        assert name in rel_core.supported_methods
    assert all(isinstance(m, str) for m in rel_core.supported_methods)


def test_initialize_never_mutates_methods(rel):
    methods = ["nope", "selectors"]
    copy = list(methods)
    name = rel.initialize(methods)
    assert methods == copy
    assert name == "selectors" == facade.method
    supported = list(rel_core.supported_methods)
    rel.initialize(methods, ["strict"])
    assert methods == copy
    assert rel_core.supported_methods == supported


def test_initialize_strict_unknown_lists_what_was_tried(rel):
    with pytest.raises(ImportError) as info:
        rel.initialize(["nope", "pyevent"], ["strict"])
    text = str(info.value)
    assert "nope" in text and "pyevent" in text


def test_initialize_names_distribution_to_install(rel):
    missing = [m for m, dist in discovery.DISTRIBUTIONS.items()
               if dist == "rel-registrars" and m not in discovery.available_names()]
    if not missing:
        pytest.skip("rel-registrars is installed")
    with pytest.raises(ImportError) as info:
        rel.initialize([missing[0]], ["strict"])
    assert "rel-registrars" in str(info.value)
    assert missing[0] in str(info.value)


def test_initialize_pyevent_accepted_never_available(rel):
    with pytest.raises(ImportError) as info:
        rel.initialize(["pyevent"], ["strict"])
    assert "pyevent" in str(info.value)
    name = rel.initialize(["pyevent"])  # falls back to what is available
    assert name in rel_core.supported_methods
    assert name == facade.method


def test_initialize_options(rel, rel_logs):
    reg_before = rel.report()["timers"]
    name = rel.initialize([facade.method], ["verbose", "report", "strict", "threaded"])
    assert name == facade.method
    assert rel_core.logs.verbose
    assert rel.report()["timers"] == reg_before + 1  # the 5 s status report
    rel.initialize([facade.method], ["report"])
    assert rel.report()["timers"] == reg_before + 1  # not twice
    assert any("threaded" in r.getMessage() for r in rel_logs.records)
    facade._log_report()
    assert any("status report" in r.getMessage() for r in rel_logs.records)
    with pytest.raises(ValueError):
        rel.initialize(options=["bogus"])


# -- report / tick / thread / start / stop ---------------------------------------------------------
def test_report_counts(rel, socks):
    a, b = socks()
    assert rel.report() == {"timers": 0, "signals": 0, "reads": 0, "writes": 0, "errors": 0}
    rel.read(a, lambda: None)
    rel.write(b, lambda: None)
    rel.timeout(1, lambda: None)
    rel.timeout(2, lambda: None)
    report = rel.report()
    assert {k: report[k] for k in ("timers", "signals", "reads", "writes")} == {
        "timers": 2, "signals": 0, "reads": 1, "writes": 1}


def test_tick_changes_between_iterations(rel):
    ticks = [rel.tick()]
    for _ in range(3):
        rel.loop(True)
        ticks.append(rel.tick())
    assert all(a != b for a, b in zip(ticks, ticks[1:]))


def test_thread_runs_callback_and_swallows_abort_branch(rel, monkeypatch):
    got = []
    escaped = []  # what left a thread's target: threading.excepthook sees it
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_type))

    def cb():
        got.append(threading.current_thread())
        rel.abort_branch()
        got.append("after abort_branch")  # pragma: no cover - never reached

    t = rel.thread(cb)
    assert isinstance(t, threading.Thread)
    t.join(5)
    assert not t.is_alive()
    assert got == [t], "the callback runs once, in the new thread, and stops at abort_branch"
    assert escaped == [], "AbortBranch must not escape the thread"

    # anything else does escape, as from any thread
    t = rel.thread(lambda: 1 / 0)
    t.join(5)
    assert escaped == [ZeroDivisionError]


def test_start_and_stop(rel, guard):
    g = guard()
    rel.timeout(0.02, rel.stop)
    rel.start()
    assert not rel.is_running()
    assert not g.expired
    assert rel.report()["signals"] == 1  # start() left its SIGINT watcher
    with pytest.raises(SystemExit):
        rel.stop()


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill(SIGINT) ends the process on Windows")
def test_start_aborts_on_sigint(rel, guard):
    g = guard()
    rel.timeout(0.02, os.kill, os.getpid(), signal.SIGINT)
    rel.start()  # no KeyboardInterrupt: SIGINT aborts
    assert not rel.is_running()
    assert not g.expired


# -- override() ------------------------------------------------------------------------------------
def test_override_installs_event_module(rel):
    sys.modules.pop("event", None)
    rel.override()
    import event

    assert event is sys.modules["event"]
    for name in PYEVENT_NAMES:
        assert getattr(event, name) is getattr(rel_core, name), name
    assert event.__version__ == rel_core.__version__
    assert event.__doc__
    rel.override()
    import event as again

    assert again is event
    got = []
    event.timeout(0, got.append, 1)
    event.dispatch()
    assert got == [1]


# -- logging, rates, safe_read ---------------------------------------------------------------------
def test_set_verbose_logs_through_rel_logger(rel, rel_logs):
    rel.set_verbose(True)
    rel.timeout(0, lambda: None)
    rel.dispatch()
    records = [r for r in rel_logs.records if r.name == "rel"]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    rel.set_verbose(False)
    rel_logs.clear()
    rel.timeout(0, lambda: None)
    rel.dispatch()
    assert not [r for r in rel_logs.records if r.name == "rel"]


def test_set_sleep_and_turbo_are_stored(rel):
    rel.set_sleep(0.5)
    rel.set_turbo(0.01)
    assert rel_core.registrar.SLEEP_SEC == 0.5
    assert rel_core.registrar.SLEEP_TURBO == 0.01
    got = []
    rel.timeout(0, got.append, 1)
    rel.dispatch()
    assert got == [1]


def test_safe_read_ignores_extra_args(rel, socks, handle):
    a, b = socks()
    got = []
    rel.safe_read()
    rel.read(handle(a), lambda *args: got.append(args), "dropped")
    b.send(b"x")
    rel.loop()
    assert got == [()]


def test_first_use_chooses_a_registrar(rel):
    facade.registrar = None
    facade.method = None
    assert not rel.is_running()
    rel.pause()  # harmless with no registrar
    assert rel.report()["timers"] == 0  # first use: initialize()
    assert facade.registrar is not None
    assert facade.method in rel_core.supported_methods
    got = []
    rel.timeout(0, got.append, 1)
    rel.dispatch()
    assert got == [1]


def test_report_option_makes_the_report_visible(rel):
    # The application configured no logging: the report it asked for must
    # still reach stderr (INFO is below logging's last-resort WARNING).
    logger = logging.getLogger("rel")
    logger.setLevel(logging.WARNING)
    rel.initialize([facade.method], ["report"])
    assert logger.isEnabledFor(logging.INFO)
