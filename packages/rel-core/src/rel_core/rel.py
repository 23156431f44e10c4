"""The facade: rel's module-level functions over one process-wide registrar.

R.E.L. (Registered Event Listener) provides pyevent's interface in pure Python::

    read(sock, callback, *args)      write(sock, callback, *args)
    error(sock, callback, *args)     timeout(delay, callback, *args)
    signal(sig, callback, *args)     event(callback, arg=None, evtype=0, handle=None)
    dispatch()  loop()  abort()  abort_branch()  pause()  resume()  init()  thread()

The registrar is chosen on first use, or by :func:`initialize`, among the
``rel.registrars`` entry points (see :mod:`rel_core.discovery`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

from ._version import __version__
from .discovery import load, supported_methods
from .errors import AbortBranch
from .listener import (
    EV_PERSIST, EV_READ, EV_SIGNAL, EV_TIMEOUT, EV_WRITE, Event, FileLike, Signal, SocketIO, Timer,
)
from . import pyevent
from . import registrar as _engine
from .logs import log, logger, set_verbose, show
from .registrar import Registrar, set_sleep, set_turbo

__all__ = [
    "override", "supported_methods", "initialize", "set_verbose", "set_sleep", "set_turbo",
    "safe_read", "read", "write", "error", "timeout", "signal", "event", "dispatch", "pause",
    "resume", "loop", "report", "is_running", "abort", "abort_branch", "thread", "tick", "init",
    "start", "stop", "EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE", "__version__",
]

#: the process-wide registrar; None until first use or initialize()
registrar: Optional[Registrar] = None
#: the name it was chosen under
method: Optional[str] = None
SAFE_READ = False
_init_lock = threading.Lock()
_report_timer: Optional[Timer] = None
OPTIONS = ("verbose", "report", "strict", "threaded", "debug")


def _registrar() -> Registrar:
    return registrar if registrar is not None else _first_use()


def _first_use() -> Registrar:
    initialize()
    assert registrar is not None
    return registrar


def _provide(build: bool) -> Optional[Registrar]:
    return _registrar() if build else registrar


# The facade is the top floor: the engine's add-ons reach its registrar
# through this hook, never by importing this module.
_engine.facade_registrar = _provide


def _debug_if_asked() -> None:
    """``REL_DEBUG`` in the environment: bring in the diagnostics, which
    attach to every registrar built from then on (see debug.py)."""
    if "REL_DEBUG" in os.environ:
        from . import debug  # noqa: F401 - imported for its build hook


_debug_if_asked()


def override() -> None:
    """Install a module named ``event`` in ``sys.modules`` exposing pyevent's
    names from rel, so that old pyevent programs run on rel unchanged.
    Idempotent."""
    pyevent.install(sys.modules[__name__])


def initialize(methods: Optional[Sequence[str]] = None, options: Iterable[str] = ()) -> str:
    """Choose the registrar: the first available of ``methods``, then (unless
    ``'strict'`` is in ``options``) of the rest of ``supported_methods``.
    Returns its name.

    Options: ``'verbose'`` (log events), ``'report'`` (measure the loop, and log
    :func:`report` every 5 s), ``'debug'`` (warn about slow callbacks, loop lag,
    busy loops and fds closed while registered: see :mod:`rel_core.debug`),
    ``'strict'`` (only ``methods``), ``'threaded'`` (pyevent's GIL hack:
    accepted, unnecessary here, logged). Called again, it switches registrar and
    the armed watchers move to the new one (debug mode and measuring stay on).
    ``methods`` is never modified.

    Raises ImportError naming each method tried and why it failed (for one
    that lives in a distribution not installed: which one to install), and
    ValueError for an unknown option.
    """
    global registrar, method, _report_timer
    if methods is None:
        methods = supported_methods
    elif isinstance(methods, str):
        methods = [methods]
    options = tuple(options)
    unknown = [o for o in options if o not in OPTIONS]
    if unknown:
        raise ValueError("unknown initialize() option(s) %s; known: %s" % (unknown, ", ".join(OPTIONS)))
    if "verbose" in options:
        set_verbose(True)
    _debug_if_asked()
    diagnostics: Any = None
    if "debug" in options or "report" in options:
        from . import debug as diagnostics  # imported only when asked for

        diagnostics.request(debug="debug" in options, measure="report" in options)
    candidates: List[str] = list(methods)
    if "strict" not in options:
        candidates += [m for m in supported_methods if m not in candidates]
    with _init_lock:
        failures = []
        for name in candidates:
            if registrar is not None and name == method:
                chosen: Optional[Registrar] = registrar
                break
            try:
                chosen = load(name)()
                break
            except ImportError as exc:
                failures.append(str(exc))
                log("could not use %r: %s" % (name, exc))
        else:
            raise ImportError("rel: none of the registrars tried is available:\n  "
                              + "\n  ".join(failures)
                              + ("\n(without 'strict', rel-core's portable 'selectors' would be used)"
                                 if "strict" in options and "selectors" not in candidates else ""))
        if chosen is not registrar:
            if registrar is not None:
                try:
                    chosen.adopt(registrar)  # type: ignore[union-attr]
                except BaseException:  # refused (the loop is running): keep the old one
                    chosen.close()  # type: ignore[union-attr]
                    raise
            registrar, method = chosen, name
        if diagnostics is not None:
            diagnostics.apply(chosen)
        log("initialized with %r" % (name,))
    if "threaded" in options:
        log("'threaded' (pyevent's GIL hack) is unnecessary: rel releases the GIL while it waits")
    if "report" in options and (_report_timer is None or not _report_timer.pending()):
        show(logging.INFO)  # the report was asked for: it must be seen
        _report_timer = timeout(5, _log_report)
    return name


def _log_report() -> bool:
    logger.info("rel status report (%s): %s", method, report())
    return True


def safe_read() -> None:
    """From now on, :func:`read` ignores extra ``*args`` (as rel)."""
    global SAFE_READ
    SAFE_READ = True


def read(sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
    """Run ``cb(*args)`` each time ``sock`` (int fd or object with ``fileno()``)
    is readable, while it returns truthy. Returns the armed watcher.

    TypeError if ``cb`` is not callable or ``sock`` has no fd; ValueError for a
    negative fd; OSError for a closed one. Nothing is registered then.
    """
    if SAFE_READ:
        args = ()
    return _registrar().read(sock, cb, *args)


def write(sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
    """As :func:`read`, each time ``sock`` is writable."""
    return _registrar().write(sock, cb, *args)


def error(sock: FileLike, cb: Callable[..., Any], *args: Any) -> SocketIO:
    """As :func:`read`, on an error or hang-up condition of ``sock``."""
    return _registrar().error(sock, cb, *args)


def timeout(delay: Optional[float], cb: Callable[..., Any], *args: Any) -> Timer:
    """Run ``cb(*args)`` after ``delay`` seconds; a truthy return re-arms it with
    the same delay. ``delay=None``: created unarmed. Negative: 0."""
    return _registrar().timeout(delay, cb, *args)


def signal(sig: int, callback: Callable[..., Any], *args: Any) -> Signal:
    """Run ``callback(*args)`` on each delivery of ``sig`` until ``.delete()``,
    which restores the previous handler. From a non-main thread: not armed, logged."""
    return _registrar().signal(sig, callback, *args)


def event(callback: Callable[..., Any], arg: Any = None, evtype: int = 0, handle: Any = None) -> Event:
    """pyevent's event object: ``callback(ev, handle, fired_evtype, arg)``."""
    return _registrar().event(callback, arg, evtype, handle)


def dispatch() -> None:
    """Run the loop until :func:`abort`, :func:`pause`, or nothing is registered.
    Does nothing if it is already running. Callback exceptions propagate."""
    _registrar().dispatch()


def resume() -> None:
    """Start dispatching again after :func:`pause`."""
    _registrar().dispatch()


def pause() -> None:
    """Stop dispatching (after the current iteration) without deleting anything."""
    if registrar is not None:
        registrar.pause()


def loop(nonblock: bool = False) -> None:
    """Run one iteration of the loop (without waiting, with ``nonblock``)."""
    _registrar().loop(nonblock)


def report() -> Dict[str, Any]:
    """Counts of what is registered: ``timers``, ``signals``, ``reads``,
    ``writes``, ``errors``; with ``'report'`` or ``'debug'``, also the loop's
    own figures (see :meth:`rel_core.debug.Diagnostics.figures`)."""
    return _registrar().report()


def is_running() -> bool:
    """Whether :func:`dispatch` is running."""
    return registrar is not None and registrar.is_running()


def abort() -> None:
    """Stop :func:`dispatch` and delete every read/write/error watcher."""
    _registrar().abort()


def abort_branch() -> None:
    """Raise :class:`~rel_core.errors.AbortBranch`, which the loop swallows."""
    _registrar().abort_branch()


def init() -> None:
    """Forget every watcher, restore signal handlers, reset the loop."""
    global _report_timer
    _report_timer = None
    _registrar().init()


def tick() -> int:
    """The number of the current loop iteration: changes at every iteration."""
    return _registrar().tick


def _run_swallowing_abort_branch(callback: Callable[[], Any]) -> None:
    try:
        callback()
    except AbortBranch:
        pass


def thread(callback: Callable[[], Any]) -> threading.Thread:
    """Run ``callback()`` in a new thread, swallowing AbortBranch; returns it."""
    t = threading.Thread(target=_run_swallowing_abort_branch, args=(callback,))
    t.start()
    return t


def start() -> None:
    """``signal(2, abort)`` then :func:`dispatch`."""
    log("start")
    signal(2, abort)
    dispatch()


def stop() -> None:
    """:func:`abort` if dispatching, else ``sys.exit()``."""
    log("goodbye")
    if is_running():
        abort()
    else:
        sys.exit()

