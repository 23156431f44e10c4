"""What the diagnostics call things: a callback by its qualified name and
``file:line``, a watcher by what it watches, and where a watcher was
registered (the caller's stack, rel-core's own frames left out).

Used by debug mode's messages (:mod:`rel_core.debug`); imported with it.
"""

from __future__ import annotations

import functools
import os
import signal as _signal
import sys
import traceback
from typing import Any

from .listener import Event, Signal, SocketIO, Timer

# Frames of a registration stack kept (innermost, rel-core's own left out).
STACK_FRAMES = 12

_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def describe_callback(cb: Any) -> str:
    """``qualified.name (file:line)`` of a callback, through the wrappers rel
    itself puts around one (pyevent events), ``functools.partial`` and
    ``__wrapped__``."""
    target = cb
    for _ in range(10):
        owner = getattr(target, "__self__", None)
        if isinstance(owner, Event) and getattr(target, "__func__", None) is Event._fire:
            target = owner.callback
        elif isinstance(target, functools.partial):
            target = target.func
        elif getattr(target, "__wrapped__", None) is not None:
            target = target.__wrapped__
        else:
            break
    func = getattr(target, "__func__", target)
    code = getattr(func, "__code__", None)
    if code is None and not hasattr(func, "__qualname__"):
        func = type(target).__call__  # a callable object: name its __call__
        code = getattr(func, "__code__", None)
    name = getattr(func, "__qualname__", None) or repr(target)
    module = getattr(func, "__module__", None)
    if module and module not in ("builtins", "__main__") and code is None:
        name = "%s.%s" % (module, name)
    if code is None:
        return "%s (built-in)" % (name,)
    return "%s (%s:%d)" % (name, code.co_filename, code.co_firstlineno)


def describe_watcher(w: Any) -> str:
    """What a watcher watches: ``read watcher on fd 7``, ``timer (delay 1 s)``..."""
    if isinstance(w, SocketIO):
        return "%s watcher on fd %d" % (w.evtype, w.fd)
    if isinstance(w, Timer):
        return "timer (delay %s s)" % ("%g" % w.delay if w.delay is not None else "none")
    if isinstance(w, Signal):
        try:
            return "signal %d (%s)" % (w.sig, _signal.Signals(w.sig).name)
        except ValueError:
            return "signal %d" % (w.sig,)
    return repr(w)


def registration_stack() -> traceback.StackSummary:
    """The caller's stack, most recent call last, without rel-core's frames."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_HERE):
        frame = frame.f_back
    return traceback.extract_stack(frame, limit=STACK_FRAMES)
