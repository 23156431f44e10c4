"""event(): every mask of EV_TIMEOUT, EV_READ, EV_WRITE, EV_SIGNAL, EV_PERSIST,
fired by its condition and by its add(timeout); the callback's arguments."""

import os
import signal
import socket

import rel
from _difftrace import attempt, dispatch, out, pending

BITS = [("T", rel.EV_TIMEOUT), ("R", rel.EV_READ), ("W", rel.EV_WRITE), ("S", rel.EV_SIGNAL),
        ("P", rel.EV_PERSIST)]
out("constants", [(name, value) for name, value in BITS])
PID = os.getpid()


def label(mask):
    return "".join(name for name, bit in BITS if mask & bit) or "0"


def scenario(mask, how):
    """Make an event of ``mask``; fire it by its condition ("ready") or let its
    add() timeout expire ("timeout"); trace the callback's calls."""
    key = "%s_%s" % (label(mask), how)
    a, b = socket.socketpair()
    io = mask & (rel.EV_READ | rel.EV_WRITE)
    handle = signal.SIGUSR1 if mask & rel.EV_SIGNAL and not io else a
    calls = []

    def cb(ev, h, evtype, arg):
        calls.append((ev is box.get("ev"), h is handle, evtype, arg))
        if mask & rel.EV_READ:
            try:
                a.recv(100)
            except BlockingIOError:
                pass
        rel.pause()

    box = {}
    a.setblocking(False)
    ev = attempt(key + "_made", rel.event, cb, "arg", mask, handle)
    if ev is None:
        a.close(), b.close()
        return
    box["ev"] = ev
    out(key + "_pending_before_add", pending(ev))
    if how == "ready":
        if mask & rel.EV_READ:
            b.send(b"r")
        if mask & rel.EV_SIGNAL and not io:
            rel.timeout(0, os.kill, PID, signal.SIGUSR1)
        attempt(key + "_add", ev.add, 2.0)
    else:
        if mask & rel.EV_WRITE:  # a write event would fire at once: fill the buffer
            try:
                while True:
                    a.send(b"x" * 65536)
            except BlockingIOError:
                pass
        attempt(key + "_add", ev.add, 0.05)
    out(key + "_pending", pending(ev))
    dispatch(rel, key + "_dispatch")
    out(key + "_calls", len(calls), [c[0] for c in calls], [c[1] for c in calls],
        [c[3] for c in calls])
    out(key + "_evtype", [c[2] for c in calls])
    out(key + "_pending_after", pending(ev))
    ev.delete()
    out(key + "_deleted_pending", pending(ev))
    a.close()
    b.close()


for mask in range(32):
    for how in ("ready", "timeout"):
        if how == "ready" and not mask & (rel.EV_READ | rel.EV_WRITE | rel.EV_SIGNAL):
            continue  # a pure timer has only its timeout
        scenario(mask, how)

# event() with the defaults: a timer; keyword arguments by pyevent's names
calls = []
e = rel.event(lambda *args: calls.append(args[2:]) or rel.pause())
e.add(0.01)
dispatch(rel, "default_dispatch")
out("default", calls)
del calls[:]
e = rel.event(callback=lambda *args: calls.append(args[2:]) or rel.pause(), arg=7,
              evtype=rel.EV_TIMEOUT, handle=None)
attempt("keyword_add", e.add, delay=0.01)
dispatch(rel, "keyword_dispatch")
out("keyword", calls)
