"""What every scenario script shares: the contenders, the CLI, the JSON line.

A scenario script runs ONE contender in its own process and prints one JSON
line on stdout. It must run under three interpreters: the nox venv's (this
project, asyncio) and rel 0.4.9.27's venv's, so it imports nothing but the
standard library and the engine under test.

Contenders (``--contender``):

* ``asyncio``: asyncio's own event loop, low-level API (``add_reader``,
  ``call_later``), which is what rel's read()/timeout() correspond to;
* ``rel0``: rel 0.4.9.27 (``import rel``), its epoll registrar;
* ``rel``: this project's ``rel_core`` with the registrar ``initialize()`` picks;
* ``rel:NAME``: this project with registrar NAME, ``initialize([NAME], ['strict'])``;
* ``uvloop``: uvloop's event loop, the same low-level API as ``asyncio``;
* ``rel:asyncio@uvloop``: this project's ``asyncio`` registrar on a uvloop loop
  (``rel_core.aio.use_loop(uvloop.new_event_loop())``); uvloop is a
  bench-only dependency (n/a without it);
* ``rel:asyncio!run_forever`` (also ``@uvloop!run_forever``): the same, but run
  the way rel runs inside an asyncio program: the loop's own
  ``run_forever()``/``stop()``, no ``rel.dispatch()`` (which waits for rel to end,
  and so keeps the idle audit's handle pending; see rel_core.asyncio_registrar);
* ``floor``: no engine, a bare ``select.epoll`` loop (see FloorEngine): the
  cost of the scenario's system calls and callbacks alone;
* ``floor:selectors``: the same over ``selectors.DefaultSelector``, the floor of
  any loop built on that module.

The hot-path callbacks are handed to the engine directly (no adapter in
between) and always return True, which keeps a rel watcher armed and is ignored
by asyncio. Timer callbacks return None (one shot everywhere).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


class Unavailable(Exception):
    """The contender cannot run this scenario here (reported as n/a)."""


class Engine:
    """The few operations the scenarios need, for one contender."""

    label = "?"
    method = None

    def read(self, sock, cb, *args):
        raise NotImplementedError

    def timeout(self, delay, cb, *args):
        raise NotImplementedError

    def run(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


class RelEngine(Engine):
    """rel_core (this project) or rel 0.4.9.27: the same facade."""

    def __init__(self, module, label, method):
        self.rel = module
        self.label = label
        self.method = method
        self.read = module.read
        self.timeout = module.timeout
        self.run = module.dispatch
        self.stop = module.abort


class RegistrarEngine(Engine):
    """One rel_core registrar of its own (not the facade's), so that several
    can share a process: the interleaved wake-up runs. ``stop`` is ``pause``,
    which keeps the watchers for the next block."""

    def __init__(self, name):
        import rel_core
        from rel_core import discovery

        spec = name
        name, _, free = name.partition("!")
        name, _, loop = name.partition("@")
        try:
            self.registrar = discovery.load(name)(*([new_loop(loop)] if loop else []))
        except ImportError as exc:
            raise Unavailable("registrar %r: %s" % (name, exc)) from None
        name = spec
        self.label = "rel_core %s" % (rel_core.__version__,)
        self.method = name
        self.read = self.registrar.read
        self.timeout = self.registrar.timeout
        self.run = self.registrar.dispatch
        self.stop = self.registrar.pause
        if free:
            in_loop(self, self.registrar._ensure_loop())


def in_loop(engine, loop):
    """Run ``engine`` (rel on the 'asyncio' registrar) by ``loop``'s own run_forever()/stop()."""
    engine.run = loop.run_forever
    engine.stop = loop.stop


def new_loop(kind):
    """A new asyncio event loop: ``asyncio``'s default, or ``uvloop``'s."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError as exc:
            raise Unavailable("uvloop is not installed: %s" % (exc,)) from None
        return uvloop.new_event_loop()
    if kind in ("", "asyncio"):
        import asyncio

        return asyncio.new_event_loop()
    raise SystemExit("unknown loop %r" % (kind,))


class AsyncioEngine(Engine):
    label = "asyncio"

    def __init__(self, kind="asyncio"):
        import asyncio

        self.asyncio = asyncio
        self.loop = new_loop(kind)
        asyncio.set_event_loop(self.loop)
        self.label = kind
        self.method = (type(self.loop._selector).__name__ if hasattr(self.loop, "_selector")
                       else type(self.loop).__module__.split(".")[0])
        self.timeout = self.loop.call_later
        self.run = self.loop.run_forever
        self.stop = self.loop.stop

    def read(self, sock, cb, *args):
        self.loop.add_reader(sock.fileno(), cb, *args)


class FloorEngine(Engine):
    """No engine at all: a bare ``select.epoll`` loop calling the callbacks of a
    ``{fd: (cb, args)}`` dict, plus a heap of one-shot timers. Nothing a real
    loop owes its users (errors, threads, signals, watchers that stop, timer
    order) is there: what it measures is the system calls and the scenario's
    own callbacks alone, the ceiling of any Python loop on this machine."""

    label = "floor"
    method = "epoll"

    def __init__(self):
        import heapq
        import itertools
        import select

        if not hasattr(select, "epoll"):
            raise Unavailable("the floor is a bare epoll loop: Linux only")
        self.select, self.heapq = select, heapq
        self.epoll = select.epoll()
        self.callbacks = {}
        self.timers = []
        self.seq = itertools.count()
        self.running = False

    def read(self, sock, cb, *args):
        fd = sock.fileno()
        self.epoll.register(fd, self.select.EPOLLIN)
        self.callbacks[fd] = (cb, args)

    def timeout(self, delay, cb, *args):
        self.heapq.heappush(self.timers, (time.monotonic() + delay, next(self.seq), cb, args))

    def stop(self):
        self.running = False

    def run(self):
        poll, callbacks, timers, heappop, clock = (self.epoll.poll, self.callbacks, self.timers,
                                                   self.heapq.heappop, time.monotonic)
        self.running = True
        while self.running:
            timeout = max(0.0, timers[0][0] - clock()) if timers else -1
            for fd, _ in poll(timeout):
                cb, args = callbacks[fd]
                cb(*args)
            while timers and timers[0][0] <= clock():
                _, _, cb, args = heappop(timers)
                cb(*args)


class SelectorsFloorEngine(FloorEngine):
    """The floor of a loop on the ``selectors`` module (as asyncio's and
    rel_core's portable registrar are): the same bare loop, its wait
    ``selectors.DefaultSelector().select()`` and its callbacks in the keys' data."""

    method = "selectors"

    def __init__(self):
        import selectors

        super().__init__()
        self.epoll.close()
        self.selectors = selectors
        self.selector = selectors.DefaultSelector()

    def read(self, sock, cb, *args):
        self.selector.register(sock, self.selectors.EVENT_READ, (cb, args))

    def run(self):
        select, timers, heappop, clock = self.selector.select, self.timers, self.heapq.heappop, time.monotonic
        self.running = True
        while self.running:
            timeout = max(0.0, timers[0][0] - clock()) if timers else None
            for key, _ in select(timeout):
                cb, args = key.data
                cb(*args)
            while timers and timers[0][0] <= clock():
                _, _, cb, args = heappop(timers)
                cb(*args)


def make_engine(spec):
    if spec in ("asyncio", "uvloop"):
        return AsyncioEngine(spec)
    if spec == "floor":
        return FloorEngine()
    if spec == "floor:selectors":
        return SelectorsFloorEngine()
    if spec == "rel0":
        import rel

        version = getattr(rel, "__version__", "?")
        method = rel.initialize(["epoll"], ["strict"])
        return RelEngine(rel, "rel %s" % (version,), method)
    if spec == "rel" or spec.startswith("rel:"):
        import rel_core

        name, _, free = spec[4:].partition("!")
        name, _, loop = name.partition("@")
        try:
            method = rel_core.initialize([name], ["strict"]) if name else rel_core.initialize()
        except ImportError as exc:
            raise Unavailable("registrar %r: %s" % (name, exc)) from None
        if loop:
            from rel_core import aio

            aio.use_loop(new_loop(loop))
            method += "@" + loop
        engine = RelEngine(rel_core, "rel_core %s" % (rel_core.__version__,), method)
        if free:
            engine.method += "!" + free
            from rel_core import aio

            in_loop(engine, aio.registrar()._ensure_loop())
        return engine
    raise SystemExit("unknown contender %r" % (spec,))


def parser(doc):
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--contender", required=True,
                   help="asyncio | uvloop | rel0 | rel | rel:NAME | rel:asyncio@uvloop | floor | "
                        "floor:selectors; several: a,b,c")
    return p


def emit(result):
    """Print the scenario's result: one JSON line, the last of stdout."""
    result.setdefault("python", sys.version.split()[0])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def run_main(main):
    """Run ``main()``; an Unavailable contender prints ``{"na": why}``."""
    try:
        emit(main())
    except Unavailable as exc:
        emit({"na": str(exc)})


def percentile(sorted_values, q):
    """The q-th percentile (0-100) of an ascending list, nearest rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def latency_summary(samples_s):
    """p50/p99/max/mean of a list of seconds, in microseconds."""
    s = sorted(samples_s)
    return {
        "n": len(s),
        "p50_us": percentile(s, 50) * 1e6,
        "p99_us": percentile(s, 99) * 1e6,
        "max_us": (s[-1] if s else float("nan")) * 1e6,
        "mean_us": (sum(s) / len(s) if s else float("nan")) * 1e6,
    }


def raise_fd_limit(wanted):
    """Raise RLIMIT_NOFILE's soft limit towards ``wanted``; return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return wanted


now = time.perf_counter
