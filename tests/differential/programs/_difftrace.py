"""What every differential program shares: trace lines, bounds, safe calls.

A trace line is ``key: value``; keys are unique within a program, so that a
difference is named ``trace:<program>:<key>``. Nothing printed may depend on
time, addresses or fd numbers: the same program must print the same lines on
every run of the same implementation.
"""

import os
import threading
import time

WATCHDOG = 30  # seconds: a program still running then is stuck


def shown(value):
    """A value as the trace shows it: plain data as repr, objects by type."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(shown(v) for v in value)
        return "[%s]" % inner if isinstance(value, list) else "(%s)" % inner
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (shown(k), shown(v)) for k, v in sorted(value.items()))
    return "<%s>" % type(value).__name__


def out(key, *values):
    print("%s: %s" % (key, " ".join(v if isinstance(v, str) else shown(v) for v in values)),
          flush=True)


def attempt(key, fn, *args, **kwargs):
    """Call ``fn``, print what it returned or raised, return its result."""
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: B036 - SystemExit, KeyboardInterrupt are traced too
        out(key, "raised", type(exc).__name__)
        return None
    out(key, "returned", shown(result))
    return result


def guard(rel, seconds=3.0, key="guard"):
    """Abort, from another thread, a dispatch() that should have ended by itself
    (and say so). A thread, not a rel timer: a timer would keep the loop busy."""
    def fire():
        out(key, "fired: dispatch() had not ended by itself")
        rel.abort()
    g = threading.Timer(seconds, fire)
    g.daemon = True
    g.start()
    return g


def dispatch(rel, key, seconds=3.0):
    """dispatch() bounded by a guard; prints how it ended.

    Then pause(): rel 0.4.9.27 leaves is_running() True after a dispatch() that
    ended by itself, and ignores every later dispatch(); pause() clears that
    (loop_control.py traces the defect itself), so one program can dispatch
    several times and compare each."""
    g = guard(rel, seconds, key + "_guard")
    attempt(key, rel.dispatch)
    g.cancel()
    rel.pause()


def pending(watcher):
    """pending() as a truth value (the original returns 1/0, ours True/False:
    the ``pending_type`` line of timers.py shows that once), or what it raised."""
    try:
        return bool(watcher.pending())
    except Exception as exc:
        return "raised %s" % (type(exc).__name__,)


def _bite():
    time.sleep(WATCHDOG)
    print("watchdog: still running after %ds" % WATCHDOG, flush=True)
    os._exit(70)


threading.Thread(target=_bite, daemon=True).start()
