"""abort, pause, resume, init, loop(), tick(), report(), is_running(), thread(),
start()/stop(), and how dispatch() ends."""

import os
import signal
import socket
import threading

import rel
from _difftrace import attempt, dispatch, guard, out, pending

seen = []
COUNTS = ("timers", "signals", "reads", "writes")


def counts():
    report = rel.report()
    return {k: report[k] for k in COUNTS}


out("is_running_before", rel.is_running())
out("report_empty", counts())
out("report_keys_kept", set(COUNTS) <= set(rel.report()))

# dispatch() with nothing registered returns at once; so does one whose work ends
attempt("dispatch_empty", rel.dispatch)
out("is_running_after_empty", rel.is_running())
rel.pause()
rel.timeout(0.01, lambda: seen.append(rel.is_running()))
g = guard(rel, 3.0, "natural_end_guard")
attempt("dispatch_natural_end", rel.dispatch)
g.cancel()
out("is_running_inside", seen)
out("is_running_after_natural_end", rel.is_running())
# the original ignores this dispatch() (it still thinks it runs)
rel.timeout(0.01, seen.append, "second dispatch ran")
g = guard(rel, 1.0, "second_dispatch_guard")
attempt("second_dispatch", rel.dispatch)
g.cancel()
out("second_dispatch_ran", seen[1:])
rel.pause()
dispatch(rel, "drain_dispatch")
del seen[:]

# report() counts
a, b = socket.socketpair()
r = rel.read(a, lambda: False)
w = rel.write(a, lambda: False)
t1 = rel.timeout(10, lambda: None)
t2 = rel.timeout(None, lambda: None)
s = rel.signal(signal.SIGUSR1, lambda: None)
out("report_counts", counts())
t2.add(10)
out("report_after_add", counts())
t1.delete()
t2.delete()
s.delete()
r.delete()
w.delete()
out("report_after_delete", counts())

# abort() inside a callback: dispatch ends, I/O watchers deleted, timers and signals kept
r = rel.read(a, lambda: True)
s = rel.signal(signal.SIGUSR1, lambda: None)
later = rel.timeout(5, lambda: None)
rel.timeout(0.01, rel.abort)
dispatch(rel, "abort_dispatch")
out("abort_read_pending", pending(r))
out("abort_timer_pending", pending(later))
out("abort_signal_pending", pending(s))
out("abort_counts", counts())
later.delete()
s.delete()

# pause() inside a callback keeps everything; resume() goes on
box = {}


def pauser():
    box["t"] = rel.timeout(0.05, seen.append, "after resume")  # cannot be due in this pass
    rel.pause()


rel.timeout(0.01, pauser)
dispatch(rel, "pause_dispatch")
out("paused_timer_pending", pending(box["t"]), seen)
out("is_running_paused", rel.is_running())
g = guard(rel, 3.0, "resume_guard")
attempt("resume", rel.resume)
g.cancel()
rel.pause()
out("resumed", seen)
del seen[:]

# loop(): one iteration each; tick() changes between iterations
rel.timeout(0, seen.append, "one")
rel.timeout(0, seen.append, "two")
t = rel.timeout(0.01, lambda: True)
ticks = []
for i in range(3):
    attempt("loop_%d" % i, rel.loop)
    ticks.append(rel.tick())
t.delete()
out("loop_ran", seen)
out("tick_type", type(ticks[0]).__name__)
out("tick_changes", [ticks[i] != ticks[i + 1] for i in range(len(ticks) - 1)])
del seen[:]

# init(): forget everything
rel.read(a, lambda: True)
old = rel.timeout(10, lambda: None)
rel.signal(signal.SIGUSR1, seen.append, "never")
attempt("init", rel.init)
out("init_counts", counts())
out("init_timer_pending", pending(old))
out("init_handler_restored", signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, None))
rel.timeout(0.01, seen.append, "after init")
dispatch(rel, "after_init_dispatch")
out("after_init", seen)
del seen[:]

# thread(): runs in another thread, AbortBranch swallowed
done = threading.Event()


def in_thread():
    seen.append(threading.current_thread() is not threading.main_thread())
    done.set()
    rel.abort_branch()


result = attempt("thread", rel.thread, in_thread)
done.wait(5)
if isinstance(result, threading.Thread):
    result.join(5)
out("thread_ran", seen)
del seen[:]

# abort_branch() from a read callback is swallowed; the loop goes on
def branch():
    seen.append("branch")
    a.recv(10)
    rel.abort_branch()


rel.read(a, branch)
rel.timeout(0.1, rel.pause)
b.send(b"x")
dispatch(rel, "abort_branch_dispatch")
out("abort_branch", seen)
rel.abort()
rel.pause()
del seen[:]

# start(): signal(2, abort) then dispatch; stop() aborts a running loop, else exits
rel.timeout(0.01, os.kill, os.getpid(), signal.SIGINT)
g = guard(rel, 3.0, "start_guard")
attempt("start", rel.start)
g.cancel()
rel.pause()
rel.timeout(0.01, rel.stop)
dispatch(rel, "stop_dispatch")
attempt("stop_outside", rel.stop)
