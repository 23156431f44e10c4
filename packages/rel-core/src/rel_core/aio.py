"""rel and asyncio in one thread: the helpers of the ``asyncio`` registrar.

After ``rel.initialize(['asyncio'])`` (or the first call of one of these,
which picks it when no registrar is chosen yet) rel's watchers run on the
asyncio loop of the thread (see :mod:`rel_core.asyncio_registrar`).

* ``await dispatch()``: inside a coroutine, wait until rel's ``dispatch()``
  would have returned (``abort()``, ``pause()``, nothing registered), without
  blocking other tasks; a rel callback's exception is raised here.
* ``run(coro, callback, *args, onerror=None)``: from rel code, start a
  coroutine and get its result as a rel callback (``callback(result, *args)``)
  or its exception (``onerror(exc, *args)``; without ``onerror`` it leaves
  ``rel.dispatch()`` as a callback's exception would).
* ``await readable(sock)``, ``await writable(sock)``, ``await sleep(delay)``:
  from a coroutine, wait for a rel event.

::

    import asyncio, socket
    import rel_core as rel
    from rel_core import aio

    async def main():
        rel.initialize(["asyncio"])
        a, b = socket.socketpair()
        rel.read(a, lambda: print("rel read", a.recv(10)))   # one-shot: returns None
        b.send(b"hi")
        await aio.dispatch()          # the read ran, nothing is left: rel is done

    asyncio.run(main())
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

from . import rel as _facade
from .asyncio_registrar import AsyncioRegistrar
from .listener import FileLike

__all__ = ["dispatch", "run", "readable", "writable", "sleep", "registrar", "use_loop"]


def registrar() -> AsyncioRegistrar:
    """The process-wide registrar, which must be the ``asyncio`` one: picked
    here if none is chosen yet; RuntimeError if another one is."""
    reg = _facade.registrar
    if reg is None:
        _facade.initialize(["asyncio"], ["strict"])
        reg = _facade.registrar
    while reg is not None and reg._moved_to is not None:
        reg = reg._moved_to
    if not isinstance(reg, AsyncioRegistrar):
        raise RuntimeError("rel_core.aio needs the 'asyncio' registrar, and rel runs on %r: "
                           "call rel.initialize(['asyncio']) first" % (_facade.method,))
    return reg


def use_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Make rel run on ``loop`` (e.g. ``uvloop.new_event_loop()``) when
    ``rel.dispatch()`` runs a loop itself; its watchers move there."""
    registrar().use_loop(loop)


async def dispatch() -> None:
    """Wait until rel is done, as ``rel.dispatch()`` would, while the loop runs
    everything else. Returns at once when nothing is registered; raises the
    exception of a rel callback (rel can then be awaited again). Cancelling the
    wait stops rel's dispatch as ``pause()`` does: the watchers stay."""
    await registrar()._await_done()


def run(coro: Awaitable[Any], callback: Optional[Callable[..., Any]] = None, *args: Any,
        onerror: Optional[Callable[..., Any]] = None) -> asyncio.Future[Any]:
    """Start ``coro`` (a coroutine or any awaitable) on rel's loop, from rel
    code, and deliver its outcome as a rel callback (a zero-delay rel timer, so
    it runs where rel runs every callback): ``callback(result, *args)``, or
    ``onerror(exc, *args)``. An exception with no ``onerror`` propagates out
    of ``rel.dispatch()`` / ``await dispatch()``; a cancelled task delivers
    CancelledError to ``onerror`` only. Until it is delivered, the coroutine
    counts as registered work: ``rel.dispatch()`` keeps running for it.

    Call it from the loop's thread (a rel callback, or before the loop runs).
    Returns the task, which can be cancelled."""
    reg = registrar()
    loop = reg._ensure_loop()
    task = asyncio.ensure_future(coro, loop=loop)
    reg._tasks += 1

    def deliver(outcome: Any, failed: bool) -> None:
        if not failed:
            if callback is not None:
                callback(outcome, *args)
        elif onerror is not None:
            onerror(outcome, *args)
        elif not isinstance(outcome, asyncio.CancelledError):
            raise outcome

    def done(t: asyncio.Future[Any]) -> None:
        outcome: Any
        if t.cancelled():
            outcome, failed = asyncio.CancelledError(), True
        elif t.exception() is not None:
            outcome, failed = t.exception(), True
        else:
            outcome, failed = t.result(), False
        reg.timeout(0, deliver, outcome, failed)  # armed before the count drops: rel stays busy
        reg._tasks -= 1

    task.add_done_callback(done)
    return task


async def _wait(arm: Callable[[AsyncioRegistrar, Callable[[], bool]], Any]) -> None:
    reg = registrar()
    loop = asyncio.get_running_loop()
    reg._attach()
    if reg._loop is not loop:
        raise RuntimeError("rel runs on another asyncio loop, running in another thread")
    fired = loop.create_future()

    def fire() -> bool:
        if not fired.done():
            fired.set_result(None)
        return False  # one-shot

    watcher = arm(reg, fire)
    try:
        await fired
    finally:
        watcher.delete()


async def readable(sock: FileLike) -> None:
    """Wait until ``sock`` (an int fd or an object with ``fileno()``) is
    readable, through a rel read watcher: like ``rel.read``, it takes the
    place of another read watcher on the same fd. Bad input raises here."""
    await _wait(lambda reg, fire: reg.read(sock, fire))


async def writable(sock: FileLike) -> None:
    """As :func:`readable`, for writability."""
    await _wait(lambda reg, fire: reg.write(sock, fire))


async def sleep(delay: float) -> None:
    """Wait ``delay`` seconds on a rel timer (ordered with rel's other timers)."""
    await _wait(lambda reg, fire: reg.timeout(delay, fire))
