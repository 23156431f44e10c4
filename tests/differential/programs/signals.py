"""Signals sent to ourselves: args, persistence, delete() restoring the handler,
signal(2, abort), keyword callers."""

import os
import signal

import rel
from _difftrace import attempt, dispatch, out, pending

seen = []
PID = os.getpid()


def previous(signum, frame):
    seen.append("previous handler")


def on_usr1(*args):
    """Record; the first delivery sends the second, the second ends the dispatch."""
    seen.append(args)
    if len(seen) == 1:
        rel.timeout(0, os.kill, PID, signal.SIGUSR1)
    else:
        rel.pause()


signal.signal(signal.SIGUSR1, previous)
s = rel.signal(signal.SIGUSR1, on_usr1, "usr1", 2)
out("signal_type", type(s).__name__)
out("signal_pending", pending(s))
out("report_signals", rel.report()["signals"])
rel.timeout(0.01, os.kill, PID, signal.SIGUSR1)
dispatch(rel, "persistent_dispatch")
out("persistent", seen)
out("still_pending", pending(s))
del seen[:]

s.delete()
out("deleted_pending", pending(s))
out("handler_restored", signal.getsignal(signal.SIGUSR1) is previous)
os.kill(PID, signal.SIGUSR1)
out("after_delete", seen)
del seen[:]

# add() again
s.add()
out("readded_pending", pending(s))
rel.timeout(0.01, os.kill, PID, signal.SIGUSR1)
dispatch(rel, "readded_dispatch")
out("readded", seen)
s.delete()
del seen[:]

# the callback by keyword, as the original names it
k = attempt("keyword_callback", rel.signal, signal.SIGUSR2, callback=lambda: seen.append("usr2"))
rel.timeout(0.01, os.kill, PID, signal.SIGUSR2)
rel.timeout(0.1, rel.pause)
dispatch(rel, "keyword_dispatch")
out("keyword", seen)
k and k.delete()
del seen[:]

# signal(2, abort): SIGINT ends dispatch() (websocket-client, dez, cantools all do this)
rel.signal(2, rel.abort)
rel.timeout(0.01, os.kill, PID, signal.SIGINT)
rel.timeout(2.0, seen.append, "not aborted")
dispatch(rel, "sigint_abort_dispatch")
out("sigint_abort", seen)
out("report_after", {k: rel.report()[k] for k in ("signals", "reads", "writes")})

# Signal.add(delay): the original also runs the callback once after the delay
s2 = rel.signal(signal.SIGUSR2, seen.append, "by delay")
s2.delete()
s2.add(0.02)
rel.timeout(0.1, rel.pause)
dispatch(rel, "signal_add_delay_dispatch", 1.0)
out("signal_add_delay", seen)
s2.delete()
