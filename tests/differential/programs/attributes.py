"""The instance attributes of the objects rel returns (rel 0.4.9.27's names)."""

import signal
import socket

import rel
from rel.buff import BuffWriter
from _difftrace import out, pending

# every attribute rel 0.4.9.27's objects set, by class
ORIGINAL = {
    "Timer": "registrar cb args delay expiration",
    "SocketIO": "registrar evtype sock fd subname cb args persist active timeout",
    "Signal": "registrar sig default cb args active timeout",
    "Event": "registrar cb arg timeout evtype handle children",
    "BuffWriter": "writes errors sock fileno sender onerror listeners",
}


def attributes(key, obj):
    names = ORIGINAL[type(obj).__name__].split()
    out(key + "_missing", [n for n in names if not hasattr(obj, n)])


def cb(*args):
    return None


a, b = socket.socketpair()
t = rel.timeout(5, cb, 1)
attributes("timer", t)
out("timer_values", t.cb is cb, t.args, t.delay)
r = rel.read(a, cb, 2)
attributes("read", r)
out("read_values", r.evtype, r.sock is a, r.fd == a.fileno(), r.cb is cb, r.args, bool(r.persist))
w = rel.write(a.fileno(), cb)
out("write_values", w.evtype, w.sock == a.fileno(), w.fd == a.fileno())
e = rel.error(a, cb)
out("error_values", e.evtype)
s = rel.signal(signal.SIGUSR1, cb, 3)
attributes("signal", s)
out("signal_values", s.sig == signal.SIGUSR1, s.cb is cb, s.args)
ev = rel.event(cb, "arg", rel.EV_READ | rel.EV_PERSIST, b)
attributes("event", ev)
out("event_values", getattr(ev, "arg", None), getattr(ev, "evtype", None), getattr(ev, "handle", None) is b)
bw = BuffWriter(b, b"data", lambda sock, data: sock.send(data), cb)
attributes("buffwriter", bw)
out("buffwriter_values", bw.sock is b)
for x in (t, r, w, e, s, ev):
    x.delete()
bw.release()

# -- attributes users write: babyweb's cron (Rule.start) arms its timer, sets the
# next period in ``delay`` and fast-forwards with ``timer.expiration -= ff``.
import time  # noqa: E402

from _difftrace import dispatch  # noqa: E402

t2 = rel.timeout(None, cb)
out("expiration_before_add", t2.expiration)
t2.add(10)
out("expiration_after_add", type(t2.expiration).__name__, abs(t2.expiration - (time.monotonic() + 10)) < 1)
t2.expiration -= 9.5
out("expiration_moved", abs(t2.expiration - (time.monotonic() + 0.5)) < 0.4, pending(t2))
t2.delete()
out("expiration_after_delete", t2.expiration)
order = []
early = rel.timeout(30, lambda: order.append("early"))
early.expiration -= 29.8
rel.timeout(0.5, lambda: order.append("plain"))
late = rel.timeout(0.05, lambda: order.append("late"))
late.expiration += 1.2
periodic = rel.timeout(0.05, lambda: order.append("periodic") or order.count("periodic") < 3)
periodic.delay = 0.8  # the next periods: after "plain" (0.85 s), after "late" (1.65 s)
dispatch(rel, "expiration_dispatch")
out("expiration_order", order)
out("expiration_after_fire", early.expiration is None, pending(early))
