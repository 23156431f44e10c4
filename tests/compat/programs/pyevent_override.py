"""A pyevent program: it only gained the two lines that dez's __init__ has too.

Uses event.read/timeout/signal, an event.event() object for a read and one for a
timeout, event.dispatch and event.abort, and prints one line per thing that
happened. A guard timer ends it if the loop stalls.
"""
# ruff: noqa: E402  (written as its users wrote it)

import rel

rel.override()

import os
import signal
import socket

import event

a, b = socket.socketpair()
seen = []


def say(*what):
    seen.append(what)
    print(*what, flush=True)


def send_ping():
    a.send(b"ping")  # a plain timeout: runs once


def on_ping():
    say("read", b.recv(100).decode())
    os.kill(os.getpid(), signal.SIGUSR1)
    return None  # falsy: the read watcher is deleted


def on_usr1(signum):
    say("signal", signum == signal.SIGUSR1)
    ev = event.event(on_pong, "pong-arg", event.EV_READ, b)
    ev.add()
    a.send(b"pong")


def on_pong(ev, handle, evtype, arg):
    say("event", evtype == event.EV_READ, handle is b, arg, b.recv(100).decode())
    event.event(on_timeout_event, "late").add(0.01)


def on_timeout_event(ev, handle, evtype, arg):
    say("event-timeout", evtype == event.EV_TIMEOUT, arg)
    event.abort()


def guard():
    say("guard: stalled after", seen)
    event.abort()


print("event module", event.__name__, event.__version__ == rel.__version__)
event.timeout(0.01, send_ping)
event.read(b, on_ping)
usr1 = event.signal(signal.SIGUSR1, on_usr1, signal.SIGUSR1)
event.timeout(20, guard)
event.dispatch()
print("dispatch returned")
