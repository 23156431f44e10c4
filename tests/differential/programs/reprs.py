"""repr() of every watcher, as users see it (websocket-client's documentation
doctests ``repr(rel.signal(2, rel.abort))``). An address is shown as ``0x?``."""

import functools
import re
import signal
import socket

import rel
from _difftrace import out


def f(*args):
    return None


class Owner:
    def method(self, *args):
        return None


def show(key, make):
    """Print the repr of what ``make()`` returns, or what making/printing raised."""
    try:
        text = repr(make())
    except Exception as exc:
        out(key, "raised", type(exc).__name__)
        return
    out(key, re.sub(r"0x[0-9a-fA-F]+", "0x?", text))


a, b = socket.socketpair()
made = []


def keep(w):
    made.append(w)
    return w


show("signal_abort", lambda: keep(rel.signal(signal.SIGINT, rel.abort)))
show("signal_function", lambda: keep(rel.signal(signal.SIGUSR1, f)))
show("timer_function", lambda: keep(rel.timeout(5, f)))
show("timer_unarmed", lambda: rel.timeout(None, f))
show("timer_bound_method", lambda: keep(rel.timeout(5, Owner().method)))
show("timer_lambda", lambda: rel.timeout(None, lambda: None))
show("timer_builtin", lambda: rel.timeout(None, print))
show("read_function", lambda: keep(rel.read(a, f)))
show("write_bound_method", lambda: keep(rel.write(b, Owner().method)))
show("error_function", lambda: keep(rel.error(a, f)))
show("event_timer", lambda: rel.event(f))
show("event_read", lambda: rel.event(f, None, rel.EV_READ, a))
show("timer_partial", lambda: rel.timeout(None, functools.partial(f)))


def dereferenced():
    w = rel.read(b, f)
    w.dereference()
    return w


show("read_dereferenced", dereferenced)
for w in made:
    w.delete()
