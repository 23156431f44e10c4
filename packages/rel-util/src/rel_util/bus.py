"""The bus: named channels for loosely coupled parts of one program.

Two kinds of messages, as in rel 0.4.9.27's ``rel.util``:

* channels, for things that happen any number of times::

      listen("message", show)        # show(text) for every emit
      emit("message", "hi")          # every listener, in listening order
      ask("config", "port")          # the first listener's answer

* events, for things that happen once::

      when("ready", start, 8080)     # start(8080) now if "ready" transpired, else then
      transpire("ready")             # runs the waiting callbacks once; idempotent

Everything runs synchronously in the caller's thread; nothing touches the
event loop. The tables are guarded by a lock, so threads may listen, emit and
transpire concurrently: a callback passed to :func:`when` runs exactly once
however :func:`when` and :func:`transpire` race. Callbacks always run outside
the lock, so they may use the bus themselves.

With :func:`loudListen` on (the default, as rel), an :func:`emit` or
:func:`ask` on a channel nobody listens to is logged on the ``rel`` logger
(when rel's logging is on: ``rel_core.set_verbose(True)``).

Across processes: :func:`connect` joins this process to a bus on a Redis
server (``pip install "rel-util[redis]"``), after which the same functions
reach every connected process; :func:`disconnect` makes the bus in-process
again. See :mod:`rel_util.redis_bus` and the bus guide of rel's documentation
for the rules.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, Hashable, List, Optional, Set, Tuple

from rel_core.logs import log

__all__ = ["listen", "emit", "ask", "ask_async", "when", "transpire", "loudListen",
           "connect", "disconnect", "connected", "AskTimeout"]

Callback = Callable[..., Any]

#: {channel: [callback]}, in listening order
listeners: Dict[Hashable, List[Callback]] = {}
#: {event: [(callback, args, kwargs)]}: waiting for the event to transpire
happenings: Dict[Hashable, List[Tuple[Callback, Tuple[Any, ...], Dict[str, Any]]]] = {}
#: the events that have transpired
transpired: Set[Hashable] = set()

LOUD = True
_lock = threading.Lock()
#: the Redis link while connected (rel_util.redis_bus.Link), else None
_link: Any = None
_logger = logging.getLogger("rel")


class AskTimeout(TimeoutError):
    """An :func:`ask` across processes that got no answer in time (or that
    nobody listens to)."""


def connect(url: str, *, ask_timeout: float = 5.0, queue_limit: int = 100_000,
            namespace: str = "rel", codec: Any = None, connect_timeout: float = 5.0) -> None:
    """Join this process's bus to the Redis server at ``url`` (any URL redis-py
    takes: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...``,
    ``unix:///path/redis.sock``). Blocks until subscribed, or raises
    ``ValueError`` (bad URL or option), ``ConnectionError`` (no server there) or
    ``ImportError`` (redis-py missing); nothing is changed then.

    ``ask_timeout``: how long an ask waits for an answer (seconds).
    ``queue_limit``: how many emits are kept while Redis is unreachable.
    ``namespace``: prefix of every Redis name used, so that programs can share a server.
    ``codec``: an object with ``dumps(obj) -> str|bytes`` and ``loads(bytes)``; JSON by default.
    """
    global _link
    try:
        from . import redis_bus
    except ImportError as exc:
        raise ImportError('the Redis bus needs redis-py: pip install "rel-util[redis]" (%s)'
                          % (exc,)) from None
    if _link is not None:
        raise RuntimeError("the bus is already connected to %s: disconnect() first" % (_link.url,))
    link = redis_bus.Link(url, ask_timeout, queue_limit, namespace, codec or redis_bus.Codec,
                          connect_timeout)
    with _lock:
        channels = list(listeners)
    for channel in channels:
        link.subscribe(channel)
    link.open()
    _link = link


def disconnect() -> None:
    """Leave the Redis bus: send what is queued (5 s at most), close, and
    make the bus in-process again; asks still waiting get :class:`AskTimeout`.
    Does nothing when not connected. From a thread other than the loop's
    while the loop runs, the closing is done by the loop's thread, and this
    waits for it (see :meth:`rel_util.redis_bus.Link.close`)."""
    global _link
    link, _link = _link, None
    if link is not None:
        link.close()


def connected() -> bool:
    """Whether :func:`connect` joined this process to a Redis bus."""
    return _link is not None


def loudListen(isloud: bool) -> None:
    """Log (or stop logging) each :func:`emit`/:func:`ask` that nobody listens to."""
    global LOUD
    LOUD = bool(isloud)


def _not_listening(variety: str, channel: Hashable) -> None:
    if LOUD:
        log("%s(%s): no one's listening" % (variety, channel))


def listen(channel: Hashable, cb: Callback) -> None:
    """Call ``cb(*args, **kwargs)`` for every :func:`emit` on ``channel``
    (and let it answer :func:`ask` if it is the first listener)."""
    if not callable(cb):
        raise TypeError("listener must be callable, not %s" % (type(cb).__name__,))
    link = _link
    if link is not None:
        link.subscribe(channel)  # TypeError for a channel Redis cannot name: nothing registered
    with _lock:
        listeners.setdefault(channel, []).append(cb)


def emit(channel: Hashable, *args: Any, **kwargs: Any) -> None:
    """Call every listener of ``channel``, in listening order, with the given
    arguments. Returns nothing. A listener added meanwhile (by a listener) is
    first called at the next emit; a listener's exception propagates and the
    listeners after it are not called.

    Connected to Redis, the arguments are encoded first (``TypeError`` if they
    cannot be, and nothing is sent), published to every other process, then
    given to this process's listeners as they are."""
    link = _link
    if link is not None:
        link.emit(channel, args, kwargs)
    with _lock:
        cbs = listeners.get(channel)
        cbs = list(cbs) if cbs else None
    if cbs is None:
        return None if link is not None else _not_listening("emit", channel)
    for cb in cbs:
        cb(*args, **kwargs)
    return None


def ask(channel: Hashable, *args: Any, **kwargs: Any) -> Any:
    """Call the first listener of ``channel`` and return its answer
    (None when nobody listens).

    Connected to Redis, with no listener in this process: publish the ask
    and wait (blocking the caller, ``ask_timeout`` seconds at most) for the
    first answer to arrive from another process; :class:`AskTimeout` if none
    comes or nobody listens. Inside rel callbacks use :func:`ask_async`."""
    with _lock:
        cbs = listeners.get(channel)
        cb = cbs[0] if cbs else None
    if cb is None:
        link = _link
        if link is not None:
            return link.ask_sync(channel, args, kwargs)
        return _not_listening("ask", channel)
    return cb(*args, **kwargs)


def ask_async(channel: Hashable, callback: Callable[[Any, Optional[BaseException]], Any],
              *args: Any, **kwargs: Any) -> None:
    """:func:`ask` that never waits: ``callback(answer, None)`` once the first
    answer is there, or ``callback(None, AskTimeout(...))`` if none comes.

    A listener in this process answers at once (the callback runs before
    ``ask_async`` returns). Otherwise, connected to Redis, the callback runs
    in the loop's thread when the first remote answer arrives or after
    ``ask_timeout``; not connected and nobody listening: ``callback(None, None)``
    at once, as :func:`ask` returns None."""
    if not callable(callback):
        raise TypeError("callback must be callable, not %s" % (type(callback).__name__,))
    with _lock:
        cbs = listeners.get(channel)
        cb = cbs[0] if cbs else None
    if cb is None:
        link = _link
        if link is not None:
            return link.ask_async(channel, callback, args, kwargs)
        _not_listening("ask", channel)
        callback(None, None)
        return None
    callback(cb(*args, **kwargs), None)
    return None


def when(event: Hashable, cb: Callback, *args: Any, **kwargs: Any) -> None:
    """Call ``cb(*args, **kwargs)`` now if ``event`` has transpired, otherwise
    once, when it first transpires."""
    if not callable(cb):
        raise TypeError("callback must be callable, not %s" % (type(cb).__name__,))
    with _lock:
        if event not in transpired:
            happenings.setdefault(event, []).append((cb, args, kwargs))
            return
    cb(*args, **kwargs)


def transpire(event: Hashable) -> None:
    """Note that ``event`` happened and run, in order, the callbacks waiting
    for it. Idempotent: only the first call runs anything.

    The event counts as transpired before the callbacks run, so one of them
    calling :func:`when` on it is run at once, and one calling
    :func:`transpire` again does nothing. If callbacks raise (anything,
    KeyboardInterrupt included), the others still run, and the first
    exception is raised at the end.

    Connected to Redis, the event is also recorded there (``TypeError`` if it
    cannot be encoded, and nothing is changed) and transpires in every
    connected process, including those that connect later.
    """
    link = _link
    if link is not None:
        with _lock:
            known = event in transpired
        if not known:
            link.transpire(event)
    _transpire_local(event)


def _transpire_local(event: Hashable) -> None:
    with _lock:
        if event in transpired:
            return
        transpired.add(event)
        waiting = happenings.pop(event, [])
    first_error = None
    for cb, args, kwargs in waiting:
        try:
            cb(*args, **kwargs)
        except BaseException as exc:  # a Ctrl-C in one callback must not drop the others
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error


# -- what the Redis link calls, in the loop's thread, for other processes' messages -------------


def _deliver(channel: Hashable, args: List[Any], kwargs: Dict[str, Any]) -> None:
    """Another process's emit: every listener, each error logged, none raised."""
    with _lock:
        found = listeners.get(channel)
        cbs = list(found) if found else ()
    for cb in cbs:
        try:
            cb(*args, **kwargs)
        except Exception:
            _logger.exception("rel bus: listener %r of %r raised", cb, channel)


def _local_answer(channel: Hashable, args: List[Any], kwargs: Dict[str, Any]) -> Tuple[bool, Any]:
    """Another process's ask: (True, answer) of the first listener here, or (False, None)."""
    with _lock:
        cbs = listeners.get(channel)
        cb = cbs[0] if cbs else None
    if cb is None:
        return False, None
    try:
        return True, cb(*args, **kwargs)
    except Exception:
        _logger.exception("rel bus: listener %r of %r raised answering an ask", cb, channel)
        return False, None
