"""The instance attributes of the objects rel returns (rel 0.4.9.27's names)."""

import signal
import socket

import rel
from rel.buff import BuffWriter
from _difftrace import out

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
