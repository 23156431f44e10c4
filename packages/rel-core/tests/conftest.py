"""Fixtures shared by rel-core's behaviour suite.

The suite is a conformance suite: every test that takes the ``rel`` fixture runs
once per registrar, and relies only on the registrar contract (the poller
primitive at the top of ``rel_core/registrar.py``), so that the nox session
``conformance`` can run it against every registrar on the machine:

* by default: rel-core's portable ``selectors`` registrar only;
* ``REL_TEST_REGISTRARS=all``: every entry point of the group ``rel.registrars``
  (one that raises ImportError here is skipped);
* ``REL_TEST_SKIP_REGISTRARS=name,name2``: not those (the conformance
  session leaves out ``selectors``, which rel-core's own tests session runs);
* ``REL_TEST_EXTRA_REGISTRARS=mod:Class,mod2:Class2``: those classes too
  (importable from PYTHONPATH), with the class's ``name`` as the test id.

No test may hang the run: each is bounded by a guard timer or a watchdog, and
pytest-timeout fails one still running after HANG_LIMIT seconds anyway, with
every thread's traceback (faulthandler ends the run if it is not installed).
"""

from __future__ import annotations

import faulthandler
import importlib
import logging
import os
import signal
import socket
import sys
from typing import Any, Callable, List, Tuple, Type

import pytest

import rel_core
import rel_core.debug
import rel_core.logs
import rel_core.pyevent
import rel_core.registrar
import rel_core.rel as facade
from rel_core import discovery
from rel_core.registrar import Registrar
from relcore_testing import Guard, WaitCounter, dispatch_to_end

HANG_LIMIT = 60.0
# Signals the tests install handlers for; their handlers are put back after each test.
SIGNALS = [s for s in ("SIGUSR1", "SIGUSR2", "SIGINT", "SIGALRM") if hasattr(signal, s)]


# -- which registrars ----------------------------------------------------------------
def _registrar_params() -> List[Any]:
    params = []
    chosen = os.environ.get("REL_TEST_REGISTRARS", "")
    if chosen == "all":
        names = discovery.available_names()
    elif chosen:
        names = [n.strip() for n in chosen.split(",") if n.strip()]
    else:
        names = ["selectors"]
    skipped = {n.strip() for n in os.environ.get("REL_TEST_SKIP_REGISTRARS", "").split(",")}
    names = [n for n in names if n not in skipped]
    for name in names:
        params.append(pytest.param(("entry-point", name), id=name))
        if name == "asyncio":
            params.append(pytest.param(("awaited", name), id="asyncio-awaited"))
    extra = os.environ.get("REL_TEST_EXTRA_REGISTRARS", "")
    for spec in (s.strip() for s in extra.split(",")):
        if not spec:
            continue
        modname, _, clsname = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(modname), clsname)
        except ImportError as exc:
            params.append(pytest.param(("skip", str(exc)), id=clsname))
            continue
        name = getattr(cls, "name", "?")
        params.append(pytest.param(("class", cls), id=name if name not in ("", "?") else clsname))
    return params


@pytest.fixture(params=_registrar_params())
def registrar_class(request: Any) -> Type[Registrar]:
    """The registrar class under test (skipped when it cannot run here)."""
    how, what = request.param
    if how == "skip":
        pytest.skip("cannot import: %s" % (what,))
    if how == "class":
        return what  # type: ignore[no-any-return]
    request.node.rel_awaited = how == "awaited"
    try:
        return discovery.load(what)
    except ImportError as exc:
        pytest.skip(str(exc))
        raise  # pragma: no cover


# -- the facade bound to a fresh registrar -------------------------------------------
@pytest.fixture
def rel(registrar_class: Type[Registrar], monkeypatch: Any, request: Any) -> Any:
    """``rel_core`` (the facade, as ``import rel_core as rel``) over a fresh
    instance of the registrar under test; closed and unbound afterwards, with
    signal handlers, the wake-up fd and rel's module state put back.

    ``asyncio-awaited``: the asyncio registrar, made inside a running asyncio
    loop (so bound to it as in an asyncio program), and every ``rel.dispatch()``
    of the test is ``await rel_core.aio.dispatch()`` in that loop."""
    handlers = {s: signal.getsignal(getattr(signal, s)) for s in SIGNALS}
    wakeup_fd = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup_fd)
    logger_level = rel_core.logs.logger.level
    monkeypatch.setattr(facade, "SAFE_READ", False)
    monkeypatch.setattr(facade, "_report_timer", None)
    monkeypatch.setattr(rel_core.debug, "_requested_threshold", None)  # what initialize() asked
    monkeypatch.setattr(rel_core.debug, "_requested_measure", False)
    monkeypatch.setattr(rel_core.registrar, "SLEEP_SEC", rel_core.registrar.SLEEP_SEC)
    monkeypatch.setattr(rel_core.registrar, "SLEEP_TURBO", rel_core.registrar.SLEEP_TURBO)
    aloop = None
    try:
        if getattr(request.node, "rel_awaited", False):
            aloop, reg = _awaited_registrar(registrar_class, monkeypatch)
        else:
            reg = registrar_class()
    except ImportError as exc:
        pytest.skip(str(exc))
    facade.registrar = reg
    facade.method = getattr(registrar_class, "name", registrar_class.__name__)
    try:
        yield rel_core
    finally:
        current = facade.registrar
        facade.registrar = None
        facade.method = None
        if current is not None:
            current.close()
        if reg is not current and reg._moved_to is None:  # else initialize() closed it
            reg.close()
        if aloop is not None:
            aloop.close()
        rel_core.logs.verbose = False
        rel_core.logs.logger.setLevel(logger_level)
        if isinstance(sys.modules.get("event"), rel_core.pyevent.FakeEventModule):
            del sys.modules["event"]
        for s, h in handlers.items():
            signal.signal(getattr(signal, s), h if h is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(wakeup_fd)


def _awaited_registrar(registrar_class: Type[Registrar], monkeypatch: Any) -> Any:
    """An asyncio loop and a registrar made while it runs; ``rel.dispatch()``
    rerouted to ``loop.run_until_complete(rel_core.aio.dispatch())``."""
    import asyncio
    from asyncio.events import _get_running_loop

    from rel_core import aio

    # Windows' default (proactor) loop has no add_reader: the selector loop
    # there, as the registrar picks for a loop of its own.
    aloop = asyncio.SelectorEventLoop() if sys.platform == "win32" else asyncio.new_event_loop()

    async def make() -> Registrar:
        return registrar_class()

    reg = aloop.run_until_complete(make())
    real_dispatch = facade.dispatch

    def awaited_dispatch() -> None:
        current = facade.registrar
        if (_get_running_loop() is not None or aloop.is_running()
                or getattr(current, "_loop", None) is not aloop or current._running):  # type: ignore[union-attr]
            return real_dispatch()  # in a callback, another thread, or switched away
        aloop.run_until_complete(aio.dispatch())
        return None

    for module in (facade, rel_core):
        monkeypatch.setattr(module, "dispatch", awaited_dispatch)
        monkeypatch.setattr(module, "resume", awaited_dispatch)
    return aloop, reg


def pytest_collection_modifyitems(config: Any, items: List[Any]) -> None:
    """Bound every test by HANG_LIMIT, unless ``--timeout`` says otherwise.

    With pytest-timeout installed (a test dependency), a hang fails its test
    with every thread's traceback printed past pytest's capture; the thread
    method, because the tests own SIGALRM. Without it, the fixture below
    falls back on faulthandler, which ends the run.
    """
    if not config.pluginmanager.hasplugin("timeout") or config.getoption("timeout", None):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HANG_LIMIT, method="thread"))


@pytest.fixture(autouse=True)
def _hang_limit(request: Any) -> Any:
    """Without pytest-timeout: end the whole run with tracebacks rather than
    hang forever."""
    if request.config.pluginmanager.hasplugin("timeout"):
        yield
        return
    faulthandler.dump_traceback_later(HANG_LIMIT, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


# -- bounding a dispatch ---------------------------------------------------------------
@pytest.fixture
def guard(rel: Any) -> Callable[..., Guard]:
    """``guard(limit=5)``: arm a Guard on the registrar under test."""
    return lambda limit=5.0: Guard(rel, limit)


@pytest.fixture
def settle(rel: Any) -> Callable[..., None]:
    """``settle(limit=5)``: dispatch() until it returns by itself; fail if it
    still runs after ``limit`` seconds (see relcore_testing.dispatch_to_end)."""
    return lambda limit=5.0: dispatch_to_end(rel, limit)


@pytest.fixture
def waits(rel: Any) -> WaitCounter:
    """Count the registrar's poller waits."""
    return WaitCounter(facade.registrar)


# -- sockets ------------------------------------------------------------------------------
@pytest.fixture
def socks() -> Any:
    """``socks()`` makes a non-blocking socketpair, closed after the test."""
    made: List[socket.socket] = []

    def make() -> Tuple[socket.socket, socket.socket]:
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        made.extend((a, b))
        return a, b

    yield make
    for s in made:
        s.close()


@pytest.fixture
def tcp_pair() -> Any:
    """``tcp_pair()`` makes a connected pair of TCP sockets over loopback."""
    made: List[socket.socket] = []

    def make() -> Tuple[socket.socket, socket.socket]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as lsock:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            client = socket.create_connection(lsock.getsockname(), timeout=5)
            server, _ = lsock.accept()
        client.setblocking(False)
        server.setblocking(False)
        made.extend((client, server))
        return client, server

    yield make
    for s in made:
        s.close()


@pytest.fixture(params=["socket", "fd"])
def handle(request: Any) -> Callable[[socket.socket], Any]:
    """How a test hands a socket to rel: the socket object, or its int fd
    (SPEC accepts both; trio runs every I/O test both ways)."""
    if request.param == "socket":
        return lambda s: s
    return lambda s: s.fileno()


@pytest.fixture
def rel_logs(caplog: Any) -> Any:
    """caplog capturing the ``rel`` logger from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="rel")
    return caplog
