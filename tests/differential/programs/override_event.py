"""override() then ``import event``: an old pyevent program, unchanged."""

import socket
import sys

import rel
from _difftrace import attempt, guard, out

attempt("override", rel.override)
first = sys.modules["event"]
rel.override()
out("idempotent", sys.modules["event"] is first)

import event  # noqa: E402  (pyevent's module, provided by rel)

PYEVENT = ["EV_PERSIST", "EV_READ", "EV_SIGNAL", "EV_TIMEOUT", "EV_WRITE", "abort", "dispatch",
           "event", "init", "loop", "read", "signal", "timeout", "write"]
out("names", [n for n in PYEVENT if not hasattr(event, n)] or "all present")
out("public_names", sorted(n for n in dir(event) if not n.startswith("_")))
out("same_functions", [n for n in PYEVENT if getattr(event, n) is not getattr(rel, n)])
out("constants", [getattr(event, n) for n in PYEVENT[:5]])
out("has_version", isinstance(event.__version__, str))

seen = []
a, b = socket.socketpair()
event.timeout(0.01, seen.append, "timeout")
event.read(a, lambda: seen.append(("read", a.recv(10))) or False)
b.send(b"hi")
ev = event.event(lambda ev, h, t, arg: seen.append(("event", arg)), "arg")
ev.add(0.02)
g = guard(rel, 3.0, "dispatch_guard")
attempt("dispatch", event.dispatch)
g.cancel()
out("fired", sorted(seen, key=repr))
