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
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Hashable, List, Set, Tuple

from rel_core.logs import log

__all__ = ["listen", "emit", "ask", "when", "transpire", "loudListen"]

Callback = Callable[..., Any]

#: {channel: [callback]}, in listening order
listeners: Dict[Hashable, List[Callback]] = {}
#: {event: [(callback, args, kwargs)]}: waiting for the event to transpire
happenings: Dict[Hashable, List[Tuple[Callback, Tuple[Any, ...], Dict[str, Any]]]] = {}
#: the events that have transpired
transpired: Set[Hashable] = set()

LOUD = True
_lock = threading.Lock()


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
    with _lock:
        listeners.setdefault(channel, []).append(cb)


def emit(channel: Hashable, *args: Any, **kwargs: Any) -> None:
    """Call every listener of ``channel``, in listening order, with the given
    arguments. Returns nothing. A listener added meanwhile (by a listener) is
    first called at the next emit; a listener's exception propagates and the
    listeners after it are not called."""
    with _lock:
        cbs = listeners.get(channel)
        cbs = list(cbs) if cbs else None
    if cbs is None:
        return _not_listening("emit", channel)
    for cb in cbs:
        cb(*args, **kwargs)
    return None


def ask(channel: Hashable, *args: Any, **kwargs: Any) -> Any:
    """Call the first listener of ``channel`` and return its answer
    (None when nobody listens)."""
    with _lock:
        cbs = listeners.get(channel)
        cb = cbs[0] if cbs else None
    if cb is None:
        return _not_listening("ask", channel)
    return cb(*args, **kwargs)


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
    :func:`transpire` again does nothing. If callbacks raise, the others
    still run, and the first exception is raised at the end.
    """
    with _lock:
        if event in transpired:
            return
        transpired.add(event)
        waiting = happenings.pop(event, [])
    first_error = None
    for cb, args, kwargs in waiting:
        try:
            cb(*args, **kwargs)
        except Exception as exc:
            if first_error is None:
                first_error = exc
    if first_error is not None:
        raise first_error
