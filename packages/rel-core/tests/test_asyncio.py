"""The ``asyncio`` registrar and ``rel_core.aio``: what the behaviour suite
(which runs on it twice, see conftest.py) cannot say, because it is about
asyncio: rel inside ``asyncio.run()``, the awaitable, the two directions of
waiting, signals through ``loop.add_signal_handler``, the loop it picks.

Real sockets, real signals, real loops; every test bounded by asyncio.wait_for
or a rel guard timer.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from typing import Any, List

import pytest

if sys.platform == "win32":
    pytest.skip("the asyncio registrar does not run on Windows (an ImportError, tested in "
                "test_platform.py)", allow_module_level=True)

import rel_core
import rel_core.rel as facade
from rel_core import aio
from rel_core.asyncio_registrar import AsyncioRegistrar

needs_sigusr1 = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1")


@pytest.fixture
def arel(monkeypatch: Any) -> Any:
    """The facade with no registrar chosen: the test picks the asyncio one."""
    monkeypatch.setattr(facade, "registrar", None)
    monkeypatch.setattr(facade, "method", None)
    handler = signal.getsignal(signal.SIGUSR1) if hasattr(signal, "SIGUSR1") else None
    yield rel_core
    if facade.registrar is not None:
        facade.registrar.close()
    if handler is not None:
        signal.signal(signal.SIGUSR1, handler)


def pair() -> Any:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def test_never_the_default_and_picked_by_name(arel):
    assert "asyncio" not in rel_core.supported_methods
    assert rel_core.initialize() != "asyncio"
    facade.registrar.close()
    facade.registrar = None
    facade.method = None
    assert rel_core.initialize(["asyncio"]) == "asyncio"
    assert isinstance(facade.registrar, AsyncioRegistrar)


def test_watchers_fire_as_the_loop_runs_interleaved_with_coroutines(arel):
    """No rel.dispatch(): rel's watchers run while the program awaits its own
    things, in the loop's thread, each ticking between coroutine steps."""
    events: List[Any] = []

    async def main() -> None:
        rel_core.initialize(["asyncio"])
        a, b = pair()
        ticks = []
        rel_core.timeout(0.01, lambda: ticks.append(1) or len(ticks) < 5)
        rel_core.read(a, lambda: events.append(("read", a.recv(10), threading.current_thread())))
        b.send(b"hi")
        for i in range(40):  # the coroutine's own work, interleaved
            events.append(("step", i))
            await asyncio.sleep(0.005)
            if len(ticks) == 5:
                break
        assert len(ticks) == 5
        a.close()
        b.close()

    asyncio.run(asyncio.wait_for(main(), 10))
    reads = [e for e in events if e[0] == "read"]
    assert reads == [("read", b"hi", threading.main_thread())]
    assert events.index(reads[0]) > 0, "the read ran after the coroutine's first step"


def test_await_dispatch_returns_when_rel_is_done_and_other_tasks_run(arel):
    async def main() -> List[str]:
        rel_core.initialize(["asyncio"])
        log: List[str] = []

        async def other() -> None:
            while True:
                log.append("other")
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(other())
        rel_core.timeout(0.1, lambda: log.append("rel done"))
        await aio.dispatch()  # nothing left after the timer: rel is done
        log.append("returned")
        task.cancel()
        return log

    log = asyncio.run(asyncio.wait_for(main(), 10))
    done = log.index("rel done")
    # The other task's wake-up may share the timer's asyncio iteration: one
    # more "other" may come between; a busy or late await would show more.
    assert log[done + 1:] in (["returned"], ["other", "returned"]), log
    assert log[:done].count("other") >= 3, "the other task ran while rel was awaited"


def test_await_dispatch_ends_on_abort_and_returns_at_once_when_idle(arel):
    async def main() -> None:
        rel_core.initialize(["asyncio"])
        await aio.dispatch()  # nothing registered
        a, b = pair()
        rel_core.read(a, lambda: True)  # would keep rel busy forever
        rel_core.timeout(0.05, rel_core.abort)
        await aio.dispatch()
        assert rel_core.report()["reads"] == 0
        a.close()
        b.close()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_await_dispatch_raises_a_callbacks_exception_and_can_be_awaited_again(arel):
    async def main() -> None:
        rel_core.initialize(["asyncio"])

        def boom() -> None:
            raise ZeroDivisionError("from rel")

        rel_core.timeout(0.01, boom)
        with pytest.raises(ZeroDivisionError, match="from rel"):
            await aio.dispatch()
        got = []
        rel_core.timeout(0.01, got.append, "again")
        await aio.dispatch()
        assert got == ["again"]

    asyncio.run(asyncio.wait_for(main(), 10))


def test_plain_dispatch_and_loop_inside_a_running_loop_are_clear_errors(arel):
    async def main() -> None:
        rel_core.initialize(["asyncio"])
        rel_core.timeout(5, lambda: None)
        for call in (rel_core.dispatch, rel_core.loop):
            with pytest.raises(RuntimeError, match=r"await rel_core\.aio\.dispatch\(\)"):
                call()
        rel_core.init()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_other_registrar_chosen_is_a_clear_error(arel):
    rel_core.initialize(["selectors"])

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"initialize\(\['asyncio'\]\)"):
            await aio.dispatch()

    asyncio.run(main())


def test_run_coroutine_from_rel_result_and_exception_as_rel_callbacks(arel):
    """An old rel program: plain rel.dispatch(), a rel callback starts
    coroutines, their outcomes come back as rel callbacks in rel's thread."""
    rel_core.initialize(["asyncio"])
    got: List[Any] = []

    async def answer(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * 2

    async def fail() -> None:
        await asyncio.sleep(0.01)
        raise KeyError("async")

    def start() -> None:
        aio.run(answer(21), lambda r, tag: got.append((tag, r, threading.current_thread())), "ok")
        aio.run(fail(), None, onerror=lambda e: got.append(("err", type(e).__name__)))

    rel_core.timeout(0, start)
    rel_core.dispatch()  # runs for the coroutines though no rel watcher is left
    assert sorted(got, key=str) == sorted([("ok", 42, threading.main_thread()),
                                           ("err", "KeyError")], key=str)


def test_run_coroutine_exception_without_onerror_leaves_dispatch(arel):
    rel_core.initialize(["asyncio"])

    async def fail() -> None:
        raise ValueError("nobody caught me")

    rel_core.timeout(0, lambda: aio.run(fail()) and None)
    with pytest.raises(ValueError, match="nobody caught me"):
        rel_core.dispatch()


def test_await_rel_events_readable_writable_sleep(arel):
    async def main() -> None:
        rel_core.initialize(["asyncio"])
        a, b = pair()
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, b.send, b"x")
        await asyncio.wait_for(aio.readable(a), 5)
        assert a.recv(10) == b"x"
        await asyncio.wait_for(aio.writable(a), 5)
        t0 = time.monotonic()
        await aio.sleep(0.05)
        assert time.monotonic() - t0 >= 0.05 - 1e-6
        # cancelled: the watcher goes with it
        waiter = asyncio.ensure_future(aio.readable(a))
        await asyncio.sleep(0.01)
        assert rel_core.report()["reads"] == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert rel_core.report()["reads"] == 0
        with pytest.raises(TypeError):
            await aio.readable("not a socket")
        a.close()
        b.close()

    asyncio.run(asyncio.wait_for(main(), 10))


def test_watcher_added_from_another_thread_wakes_the_awaited_loop(arel):
    async def main() -> Any:
        rel_core.initialize(["asyncio"])
        a, b = pair()
        got = []
        guard = rel_core.timeout(10, rel_core.abort)

        def on_read() -> None:
            got.append((a.recv(10), threading.current_thread()))
            guard.delete()
            rel_core.abort()

        def adder() -> None:
            time.sleep(0.05)
            rel_core.read(a, on_read)  # queued for the loop thread, woken by call_soon_threadsafe
            b.send(b"t")

        th = threading.Thread(target=adder)
        th.start()
        await aio.dispatch()
        th.join(5)
        a.close()
        b.close()
        return got

    got = asyncio.run(asyncio.wait_for(main(), 15))
    assert got == [(b"t", threading.main_thread())]


@needs_sigusr1
def test_signal_beside_asyncios_own_handlers_and_delete_restores(arel):
    """rel's signal watcher on a loop whose own add_signal_handler holds the
    wake-up fd: asyncio cannot own rel's signal without taking it from the
    program, so rel's routed handler (signals.py) delivers it, with asyncio's
    wake-up fd and handler left working; the watcher runs on each delivery,
    delete() puts the old handler back."""
    def previous(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGUSR1, previous)

    async def main() -> Any:
        rel_core.initialize(["asyncio"])
        loop = asyncio.get_running_loop()
        theirs: List[int] = []
        loop.add_signal_handler(signal.SIGUSR2, theirs.append, 2)
        got: List[int] = []
        w = rel_core.signal(signal.SIGUSR1,
                            lambda: got.append(len(got)) or (len(got) == 2 and rel_core.abort()))
        assert w.pending()
        wakeup = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(wakeup)
        assert wakeup == loop._csock.fileno(), "asyncio keeps its wake-up fd"  # type: ignore[attr-defined]
        loop.call_later(0.02, os.kill, os.getpid(), signal.SIGUSR1)
        loop.call_later(0.04, os.kill, os.getpid(), signal.SIGUSR2)
        loop.call_later(0.06, os.kill, os.getpid(), signal.SIGUSR1)
        rel_core.timeout(5, rel_core.abort)
        await aio.dispatch()
        assert w.pending(), "persistent: still armed after two deliveries"
        w.delete()
        assert signal.getsignal(signal.SIGUSR1) is previous
        rel_core.init()
        for _ in range(100):
            if theirs:
                break
            await asyncio.sleep(0.01)
        loop.remove_signal_handler(signal.SIGUSR2)
        return got, theirs

    assert asyncio.run(asyncio.wait_for(main(), 10)) == ([0, 1], [2])


@needs_sigusr1
def test_signal_in_a_running_loop_goes_through_add_signal_handler(arel):
    """Armed in the main thread's running loop, with the wake-up fd free:
    asyncio owns the signal (its handler and wake-up fd, not rel's); the
    watcher is persistent, runs on each real delivery, and delete() puts the
    old handler and the free wake-up fd back."""
    def previous(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGUSR1, previous)

    async def main() -> Any:
        rel_core.initialize(["asyncio"])
        loop = asyncio.get_running_loop()
        assert signal.set_wakeup_fd(-1) == -1
        got: List[int] = []
        w = rel_core.signal(signal.SIGUSR1,
                            lambda: got.append(len(got)) or (len(got) == 2 and rel_core.abort()))
        handler = signal.getsignal(signal.SIGUSR1)
        assert handler is not previous and handler is not rel_core.signals._handler
        wakeup = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(wakeup)
        assert wakeup == loop._csock.fileno(), "asyncio's wake-up fd"  # type: ignore[attr-defined]
        loop.call_later(0.02, os.kill, os.getpid(), signal.SIGUSR1)
        loop.call_later(0.06, os.kill, os.getpid(), signal.SIGUSR1)
        rel_core.timeout(5, rel_core.abort)
        await aio.dispatch()
        assert w.pending(), "persistent: still armed after two deliveries"
        w.delete()
        assert signal.getsignal(signal.SIGUSR1) is previous
        assert signal.set_wakeup_fd(-1) == -1, "the wake-up fd is free again"
        rel_core.init()
        return got

    assert asyncio.run(asyncio.wait_for(main(), 10)) == [0, 1]


class _NoSignalLoop(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
    """A loop without signal handlers, as Windows' loops."""

    def add_signal_handler(self, sig: int, callback: Any, *args: Any) -> None:
        raise NotImplementedError


@needs_sigusr1
@pytest.mark.parametrize("hand_off", ["a registrar switch", "a loop refusing signal handlers"])
def test_a_signal_asyncio_owned_for_rel_is_delivered_by_rel_after_a_hand_off(arel, hand_off):
    """A watcher armed in the loop (asyncio's handler), the loop stopped;
    then initialize() of another registrar, or a move to a loop that has no
    signal handlers: rel's own routing takes the signal over
    (SignalDelivery.route) and delivers it; delete() puts back the handler
    from before rel."""
    def previous(signum: int, frame: Any) -> None:
        pass

    signal.signal(signal.SIGUSR1, previous)
    got: List[str] = []
    first, second = asyncio.new_event_loop(), _NoSignalLoop()
    try:
        async def arm() -> Any:
            rel_core.initialize(["asyncio"])
            assert signal.set_wakeup_fd(-1) == -1
            return rel_core.signal(signal.SIGUSR1, lambda: got.append("usr1") or rel_core.abort())

        w = first.run_until_complete(arm())
        assert signal.getsignal(signal.SIGUSR1) not in (previous, rel_core.signals._handler), "asyncio's"
        if hand_off == "a registrar switch":
            rel_core.initialize(["selectors"])
        else:
            aio.use_loop(second)
        assert signal.getsignal(signal.SIGUSR1) is rel_core.signals._handler
        rel_core.timeout(5, rel_core.abort)
        rel_core.timeout(0.02, os.kill, os.getpid(), signal.SIGUSR1)
        rel_core.dispatch()
        assert got == ["usr1"]
        w.delete()
        assert signal.getsignal(signal.SIGUSR1) is previous
    finally:
        facade.registrar.close()
        facade.registrar = None
        first.close()
        second.close()


@needs_sigusr1
def test_add_signal_handler_path_leaves_what_the_application_set_meanwhile(arel):
    """asyncio owns rel's signal; the application then sets a handler and a
    wake-up fd of its own: delete() leaves both in place. A signal that
    cannot be caught is an OSError, the wake-up fd untouched."""
    def app_handler(signum: int, frame: Any) -> None:
        pass

    mine, other = pair()

    async def main() -> None:
        rel_core.initialize(["asyncio"])
        if hasattr(signal, "SIGKILL"):
            with pytest.raises(OSError):
                rel_core.signal(signal.SIGKILL, lambda: None)
            assert signal.set_wakeup_fd(-1) == -1
        w = rel_core.signal(signal.SIGUSR1, lambda: None)
        assert signal.getsignal(signal.SIGUSR1) is not rel_core.signals._handler
        signal.signal(signal.SIGUSR1, app_handler)
        signal.set_wakeup_fd(mine.fileno())
        w.delete()
        assert signal.getsignal(signal.SIGUSR1) is app_handler
        assert signal.set_wakeup_fd(-1) == mine.fileno()

    try:
        asyncio.run(asyncio.wait_for(main(), 10))
    finally:
        signal.set_wakeup_fd(-1)
        mine.close()
        other.close()


@needs_sigusr1
def test_signal_from_a_non_main_thread_is_not_armed_and_logged(arel, caplog):
    rel_core.initialize(["asyncio"])
    caplog.set_level("INFO", logger="rel")
    out: List[Any] = []
    th = threading.Thread(target=lambda: out.append(rel_core.signal(signal.SIGUSR1, lambda: None)))
    th.start()
    th.join(5)
    assert not out[0].pending()
    assert "main thread" in caplog.text


def test_registrar_armed_before_asyncio_run_moves_to_its_loop_and_back(arel):
    """initialize() at import time, watchers armed then, asyncio.run() later:
    from the first rel call made in asyncio.run's loop they fire there; after
    it closed, rel.dispatch() runs a loop of its own again."""
    rel_core.initialize(["asyncio"])
    a, b = pair()
    got: List[Any] = []
    rel_core.read(a, lambda: got.append(a.recv(10)) or True)
    b.send(b"1")

    async def main() -> None:
        rel_core.timeout(1, lambda: None)  # the first rel call in this loop
        for _ in range(100):
            if got:
                return
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert got == [b"1"]
    b.send(b"2")
    rel_core.timeout(0.05, rel_core.abort)
    rel_core.dispatch()
    assert got == [b"1", b"2"]
    a.close()
    b.close()


# What uvloop.install() sets: deprecated in 3.14 (its accessors and classes warn),
# still asked by asyncio.new_event_loop() in 3.14 and 3.15, gone in 3.16.
POLICY_WARNING = r"'asyncio\.\w*(EventLoopPolicy|event_loop_policy)' is deprecated"


@pytest.mark.skipif(sys.version_info >= (3, 16), reason="Python 3.16 has no event loop policies")
def test_plain_dispatch_uses_the_policys_loop_and_use_loop(arel):
    made = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", POLICY_WARNING, DeprecationWarning)

        class Policy(asyncio.DefaultEventLoopPolicy):
            def new_event_loop(self) -> asyncio.AbstractEventLoop:
                loop = super().new_event_loop()
                made.append(loop)
                return loop

        old = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(Policy())
        try:
            rel_core.initialize(["asyncio"])
        finally:
            asyncio.set_event_loop_policy(old)
    seen = []
    rel_core.timeout(0, lambda: seen.append(asyncio.get_running_loop()))
    rel_core.dispatch()
    assert seen == made and len(made) == 1
    mine = asyncio.new_event_loop()
    try:
        aio.use_loop(mine)
        assert made[0].is_closed(), "the loop rel made is closed when it moves"
        rel_core.timeout(0, lambda: seen.append(asyncio.get_running_loop()))
        rel_core.dispatch()
        assert seen[-1] is mine
    finally:
        facade.registrar.close()
        facade.registrar = None
        assert not mine.is_closed(), "a loop the user gave stays the user's"
        mine.close()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run() takes loop_factory from 3.12")
def test_the_loop_factory_way_of_choosing_a_loop(arel):
    """asyncio.run(main(), loop_factory=...), what 3.14 recommends in place of
    a policy (uvloop.run() is it with uvloop's loop): rel runs on that loop."""

    class Loop(asyncio.SelectorEventLoop):
        pass

    a, b = pair()
    got: List[Any] = []

    async def main() -> Any:
        rel_core.initialize(["asyncio"])
        rel_core.read(a, lambda: got.append((a.recv(10), type(asyncio.get_running_loop()))))
        b.send(b"f")
        await aio.dispatch()  # the one-shot read ran: rel is done
        return type(asyncio.get_running_loop())

    try:
        assert asyncio.run(asyncio.wait_for(main(), 10), loop_factory=Loop) is Loop
    finally:
        a.close()
        b.close()
    assert got == [(b"f", Loop)]


NO_DEPRECATIONS = """
import asyncio, signal, socket
import rel_core as rel
from rel_core import aio

rel.initialize(["asyncio"])  # a loop of rel's own, run by rel.dispatch()
a, b = socket.socketpair()
got = []
rel.read(a, lambda: got.append(a.recv(10)) or rel.abort())
sig = rel.signal(signal.SIGTERM, lambda: None)
guard = rel.timeout(5, rel.abort)
b.send(b"x")
rel.dispatch()
sig.delete()
guard.delete()

async def main():
    rel.read(a, lambda: got.append(a.recv(10)))  # joins asyncio.run()'s loop
    b.send(b"y")
    rel.signal(signal.SIGUSR1, lambda: got.append("usr1") or rel.abort())
    rel.timeout(0.01, signal.raise_signal, signal.SIGUSR1)
    await aio.dispatch()
    await aio.sleep(0)

asyncio.run(asyncio.wait_for(main(), 10))
assert got == [b"x", b"y", "usr1"], got
print("ok")
"""


@needs_sigusr1
def test_no_deprecation_warning_from_the_registrar():
    """Its own loop, asyncio.run()'s, signals on add_signal_handler: nothing
    asyncio deprecates (the policy system in 3.14, get_event_loop() with no
    loop in 3.12) is called, under -W error::DeprecationWarning."""
    done = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", NO_DEPRECATIONS],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr
    assert "Warning" not in done.stderr, done.stderr


def test_idle_audit_puts_no_handle_in_asyncios_heap_and_its_clock_ends_with_dispatch(arel, monkeypatch):
    """While rel.dispatch() waits with no timer armed, asyncio's heap holds
    nothing of rel's (a pending handle gives every select of asyncio's a
    timeout, which costs each wake-up): the idle audit's clock is a thread,
    gone once dispatch() returns; and it does audit: a reader whose fd was
    closed under it is dropped, which ends dispatch()."""
    import rel_core.registrar

    monkeypatch.setattr(rel_core.registrar, "IDLE_AUDIT", 0.05)
    rel_core.initialize(["asyncio"])
    a, b = pair()
    fd = os.dup(a.fileno())
    seen: List[Any] = []

    def on_read() -> bool:
        a.recv(10)
        loop = asyncio.get_running_loop()
        # after this pass, once its end placed the audit's clock
        loop.call_soon(lambda: seen.append((len(loop._scheduled),
                                            [t.name for t in threading.enumerate()])))
        os.close(fd)  # closed under its watcher, which stays armed
        return True

    r = rel_core.read(fd, on_read)
    b.send(b"x")
    watchdog = threading.Timer(10, os.kill, (os.getpid(), signal.SIGINT))
    watchdog.start()
    try:
        rel_core.dispatch()  # returns once the audit dropped the reader
    finally:
        watchdog.cancel()
        a.close()
        b.close()
    assert not r.pending()
    assert seen and seen[0][0] == 0, seen
    assert "rel-idle-audit" in seen[0][1]
    deadline = time.monotonic() + 5
    while "rel-idle-audit" in [t.name for t in threading.enumerate()] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "rel-idle-audit" not in [t.name for t in threading.enumerate()]


def test_uvloop_when_the_user_chose_it(arel):
    uvloop = pytest.importorskip("uvloop")
    loop = uvloop.new_event_loop()
    try:
        rel_core.initialize(["asyncio"])
        aio.use_loop(loop)
        a, b = pair()
        got: List[Any] = []
        rel_core.read(a, lambda: got.append(a.recv(10)) or rel_core.abort())
        rel_core.timeout(0.01, b.send, b"uv")
        rel_core.timeout(5, rel_core.abort)
        rel_core.dispatch()
        assert got == [b"uv"]
        a.close()
        b.close()
    finally:
        facade.registrar.close()
        facade.registrar = None
        loop.close()


def test_switching_to_asyncio_keeps_timers_and_calls_running(arel):
    """initialize(['asyncio']) after timers were armed on another registrar:
    they fire on asyncio's loop, both inside a running one and under a plain
    rel.dispatch() (adopt() put them on the heap with no call_at handle)."""
    got: List[str] = []

    async def main() -> None:
        rel_core.timeout(0.02, got.append, "in asyncio.run")
        rel_core.initialize(["asyncio"])
        for _ in range(200):
            if got:
                return
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(main(), 10))
    assert got == ["in asyncio.run"]
    rel_core.initialize(["selectors"])
    rel_core.timeout(0.02, got.append, "in dispatch")
    guard = threading.Timer(5, facade.abort)  # a hang ends as a failure, not a stuck run
    guard.start()
    try:
        rel_core.initialize(["asyncio"])
        rel_core.dispatch()
    finally:
        guard.cancel()
    assert got == ["in asyncio.run", "in dispatch"]


def test_a_call_made_once_the_loop_stopped_comes_after_those_queued():
    """A thread arms a watcher while asyncio's loop runs (queued for it), the
    loop's own runner stops it before rel applied that, then the same thread
    deletes the watcher: the arm is applied first, so nothing stays armed."""
    loop = asyncio.new_event_loop()
    a, b = pair()
    made: List[Any] = []
    regs: List[Any] = []
    try:
        def in_the_loop() -> None:
            regs.append(AsyncioRegistrar())  # made in the running loop: bound to it
            t = threading.Thread(target=lambda: made.append(regs[0].write(a, lambda: True)))
            t.start()
            t.join(10)  # its arm is queued: this is the loop's thread, running
            loop.stop()  # its runner stops it: rel's pass for the arm never runs

        loop.call_soon(in_the_loop)
        loop.run_forever()
        reg = regs[0]
        assert len(reg._calls) == 1 and not made[0].pending()
        made[0].delete()  # no loop runs now: at once, after the queued arm
        loop.run_until_complete(asyncio.sleep(0.05))  # whatever else is left
        assert not made[0].pending() and reg.report()["writes"] == 0
    finally:
        for reg in regs:
            reg.close()
        loop.close()
        a.close()
        b.close()
