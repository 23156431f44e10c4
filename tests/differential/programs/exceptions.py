"""A callback's exception leaves dispatch()/loop(); what the loop is like after."""

import socket

import rel
from _difftrace import attempt, dispatch, guard, out, pending

seen = []


def boom(tag):
    seen.append(tag)
    raise ValueError(tag)


# from a timer, out of dispatch()
t = rel.timeout(0.01, boom, "timer")
g = guard(rel, 3.0, "timer_guard")
attempt("timer_raises", rel.dispatch)
g.cancel()
out("timer_calls", seen)
out("timer_pending_after_raise", pending(t))
out("is_running_after_raise", rel.is_running())
# dispatch() again: does the failed timer fire again, does a new one run?
rel.timeout(0.02, seen.append, "new timer")
g = guard(rel, 1.0, "again_guard")
attempt("dispatch_again", rel.dispatch)
g.cancel()
out("after_raise_calls", seen)
t.delete()
rel.pause()
dispatch(rel, "drain")
del seen[:]

# from a read callback, out of loop()
a, b = socket.socketpair()
r = rel.read(a, boom, "read")
b.send(b"x")
attempt("read_raises_loop", rel.loop)
out("read_calls", seen)
out("read_pending_after_raise", pending(r))
r.delete()
a.recv(10)
del seen[:]

# a KeyboardInterrupt-like BaseException from a callback leaves too
def interrupt():
    raise KeyboardInterrupt()


ti = rel.timeout(0.01, interrupt)
g = guard(rel, 3.0, "interrupt_guard")
attempt("timer_keyboard_interrupt", rel.dispatch)
g.cancel()
ti.delete()  # the original would fire it again at the next dispatch()
rel.pause()

# AbortBranch from a timer (abort_branch() inside it)
def branch():
    seen.append("branch")
    rel.abort_branch()


tb = rel.timeout(0.01, branch)
rel.timeout(0.05, seen.append, "after branch")
g = guard(rel, 3.0, "branch_guard")
attempt("timer_abort_branch", rel.dispatch)
g.cancel()
rel.pause()
out("timer_abort_branch_calls", seen)
tb.delete()
dispatch(rel, "drain_branch")
del seen[:]
