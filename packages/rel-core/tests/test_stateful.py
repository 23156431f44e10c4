"""A hypothesis state machine: random add / delete / pending / re-arm of timers
and I/O watchers, checked against a small model of what must fire, and in
what order, when the loop runs.

Time is a fake clock, injected where the engine reads it (the module global
``time`` of ``rel_core.registrar``), and kept honest the way tornado's
FakeTimeIOLoop and trio's autojump clock are: it moves only when a rule
advances it, or when the loop would block on a timer with nothing ready, in
which case the wrapped poller wait returns at once and the clock jumps by the
timeout the loop asked for. The poller itself really runs (with a zero
timeout), on real sockets that always have data to read and room to write.

What the model says one iteration (``loop()``) does, from the contract:
every armed I/O watcher fires (all are ready; in the poller's order), then the
timers due at the iteration's clock reading, in (deadline, arming order); a
timer re-armed during the iteration waits for the next one. A truthy return
keeps an I/O watcher and re-arms a timer with its last delay; a falsy one
deletes; ``add()`` inside its own callback keeps the timer armed whatever it
returns; the newest watcher of a kind on an fd replaces the previous one.
"""

from __future__ import annotations

import socket
import sys
import time
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import rel_core
import rel_core.rel as facade
import rel_core.registrar
from relcore_testing import CLOCK_MODULES, fake_engine_clock

PAIRS = 3
DELAYS = st.sampled_from([0, 0.001, 0.005, 0.005, 0.01, 0.02, -1.0, 0.0035])
START = 1000.0
MODES = ["once", "again", "readd", "readd-truthy", "delete-truthy"]


class TimerModel:
    def __init__(self, watcher: Any, mode: str, delay: Optional[float]) -> None:
        self.watcher = watcher
        # what its callback does: "once" returns falsy; "again" truthy; "readd" calls
        # add(readd) and returns falsy, "readd-truthy" truthy; "delete-truthy" calls
        # delete() and returns truthy (its own call wins)
        self.mode = mode
        self.delay = delay  # the last delay given
        self.readd = 0.0035
        self.armed = False
        self.deadline = 0.0
        self.seq = 0


class IOModel:
    def __init__(self, watcher: Any, pair: int, kind: str, keep: bool) -> None:
        self.watcher = watcher
        self.pair = pair
        self.kind = kind
        self.keep = keep
        self.armed = False


class LoopMachine(RuleBasedStateMachine):
    registrar_class: Any = None  # set by the test, per registrar under test

    timers = Bundle("timers")
    ios = Bundle("ios")

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.saved = (facade.registrar, facade.method)
        self.clock = pytest.MonkeyPatch()
        fake_engine_clock(self.clock, lambda: self.now)
        self.reg = self.registrar_class()
        real_wait = self.reg._poller_wait

        def autojump_wait(timeout: Optional[float]) -> Any:
            self.waits_left -= 1
            assert self.waits_left >= 0, "the loop does not end: it keeps finding work"
            ready = real_wait(0)
            if not ready and timeout:
                self.now += timeout
            return ready

        self.reg._poller_wait = autojump_wait
        facade.registrar = self.reg
        facade.method = getattr(self.registrar_class, "name", "?")
        self.pairs = []
        for _ in range(PAIRS):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.send(b"always readable")
            self.pairs.append((a, b))
        self.seq = 0
        self.waits_left = 0  # per loop()/dispatch(): how many waits they may take
        self.fired: List[Any] = []
        self.timer_models: List[TimerModel] = []
        self.io_models: List[IOModel] = []
        self.slots: Dict[Any, IOModel] = {}  # {(pair, kind): the armed watcher's model}

    def teardown(self) -> None:
        try:
            self.reg.close()
        finally:
            facade.registrar, facade.method = self.saved
            self.clock.undo()
            for a, b in self.pairs:
                a.close()
                b.close()

    # -- the model's bookkeeping --------------------------------------------------------
    def _arm(self, tm: TimerModel, delay: float) -> None:
        tm.armed = True
        tm.deadline = self.now + (delay if delay > 0 else 0.0)
        self.seq += 1
        tm.seq = self.seq

    def _timer_cb(self, tm: TimerModel) -> Any:
        self.fired.append(tm)
        if tm.mode.startswith("readd"):
            tm.watcher.add(tm.readd)
        elif tm.mode == "delete-truthy":
            tm.watcher.delete()
        return tm.mode in ("again", "readd-truthy", "delete-truthy")

    def _io_cb(self, im: IOModel) -> Any:
        self.fired.append(im)
        return im.keep

    def _arm_io(self, im: IOModel) -> None:
        key = (im.pair, im.kind)
        old = self.slots.get(key)
        if old is not None and old is not im:
            old.armed = False
        self.slots[key] = im
        im.armed = True

    def _disarm_io(self, im: IOModel) -> None:
        im.armed = False
        if self.slots.get((im.pair, im.kind)) is im:
            del self.slots[(im.pair, im.kind)]

    def _one_pass_expected(self) -> List[Any]:
        ios = [im for im in self.io_models if im.armed]
        for im in ios:
            if not im.keep:
                self._disarm_io(im)
        due = sorted((tm for tm in self.timer_models if tm.armed and tm.deadline <= self.now),
                     key=lambda tm: (tm.deadline, tm.seq))
        for tm in due:
            tm.armed = False
            if tm.mode == "again":
                self._arm(tm, tm.delay)  # type: ignore[arg-type]
            elif tm.mode.startswith("readd"):
                self._arm(tm, tm.readd)
                tm.delay = tm.readd
        return [set(ios)] + due

    def _check_fired(self, expected: List[Any]) -> None:
        io_set, due = expected[0], expected[1:]
        got = self.fired
        self.fired = []
        n = len(io_set)
        assert set(got[:n]) == io_set and len(got[:n]) == n, "I/O watchers fired: %r" % (got,)
        assert got[n:] == due, "timers fired out of order or wrongly"

    # -- rules ------------------------------------------------------------------------------
    @rule(target=timers, delay=st.one_of(st.none(), DELAYS), mode=st.sampled_from(MODES))
    def new_timer(self, delay: Optional[float], mode: str) -> TimerModel:
        tm = TimerModel(None, mode, None)
        tm.watcher = rel_core.timeout(delay, self._timer_cb, tm)
        if delay is not None:
            tm.delay = delay if delay > 0 else 0.0
            self._arm(tm, delay)
        self.timer_models.append(tm)
        return tm

    @rule(tm=timers, delay=st.one_of(st.none(), DELAYS))
    def add_timer(self, tm: TimerModel, delay: Optional[float]) -> None:
        tm.watcher.add(delay)
        if delay is not None:
            tm.delay = delay if delay > 0 else 0.0
        if tm.delay is not None:
            self._arm(tm, tm.delay)

    @rule(tm=timers)
    def delete_timer(self, tm: TimerModel) -> None:
        tm.watcher.delete()
        tm.armed = False

    @rule(tm=consumes(timers))
    def delete_then_add(self, tm: TimerModel) -> None:
        """rel's test_timers: delete(); add(d) fires once, after d."""
        tm.watcher.delete()
        tm.watcher.add(0.01)
        tm.delay = 0.01
        self._arm(tm, 0.01)

    @rule(target=ios, pair=st.integers(0, PAIRS - 1), kind=st.sampled_from(["read", "write"]),
          keep=st.booleans(), as_fd=st.booleans())
    def new_io(self, pair: int, kind: str, keep: bool, as_fd: bool) -> IOModel:
        sock = self.pairs[pair][0]
        im = IOModel(None, pair, kind, keep)
        im.watcher = getattr(rel_core, kind)(sock.fileno() if as_fd else sock, self._io_cb, im)
        self.io_models.append(im)
        self._arm_io(im)
        return im

    @rule(im=ios)
    def add_io(self, im: IOModel) -> None:
        im.watcher.add()
        self._arm_io(im)

    @rule(im=ios)
    def delete_io(self, im: IOModel) -> None:
        im.watcher.delete()
        self._disarm_io(im)

    @rule(dt=st.sampled_from([0, 0.001, 0.0035, 0.005, 0.01, 0.03]))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule()
    def loop(self) -> None:
        expected = self._one_pass_expected()
        self.waits_left = 1
        rel_core.loop(True)
        self._check_fired(expected)

    @precondition(lambda self: not any(tm.armed and tm.mode not in ("once", "delete-truthy")
                                          for tm in self.timer_models)
                  and not any(im.armed and im.keep for im in self.io_models))
    @rule()
    def dispatch(self) -> None:
        """Everything armed fires once; dispatch() ends when nothing is left."""
        ios = {im for im in self.io_models if im.armed}
        due = sorted((tm for tm in self.timer_models if tm.armed), key=lambda tm: (tm.deadline, tm.seq))
        last = max((tm.deadline for tm in due), default=self.now)
        for im in ios:
            self._disarm_io(im)
        for tm in due:
            tm.armed = False
        self.waits_left = 10 * (len(ios) + len(due)) + 10  # float rounding may add a few
        rel_core.dispatch()
        assert not rel_core.is_running()
        assert self.now >= last, "a timer fired before its deadline"
        self._check_fired([ios] + due)

    # -- invariants -----------------------------------------------------------------------
    @invariant()
    def pending_matches_model(self) -> None:
        for tm in self.timer_models:
            assert bool(tm.watcher.pending()) == tm.armed, (tm.mode, tm.armed)
        for im in self.io_models:
            assert bool(im.watcher.pending()) == im.armed

    @invariant()
    def report_matches_model(self) -> None:
        report = rel_core.report()
        assert report["timers"] == sum(tm.armed for tm in self.timer_models)
        assert report["reads"] == sum(im.armed and im.kind == "read" for im in self.io_models)
        assert report["writes"] == sum(im.armed and im.kind == "write" for im in self.io_models)


def test_watchers_against_model(rel, registrar_class):
    if getattr(registrar_class, "name", "") == "asyncio":
        # The model's fake clock jumps inside the poller wait; on the asyncio
        # registrar asyncio's loop waits, on its own clock.
        pytest.skip("the fake clock cannot drive asyncio's loop")
    machine = type("Machine", (LoopMachine,), {"registrar_class": registrar_class})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    ))


def test_fake_clock_is_restored(rel):
    assert all(sys.modules[name].time is time for name in CLOCK_MODULES)
