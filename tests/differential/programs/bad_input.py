"""Bad arguments: where each fails, and with what."""

import os
import signal
import socket

import rel
from _difftrace import attempt, dispatch, out


def cb():
    return None


t = attempt("timeout_not_callable", rel.timeout, 0.01, "not callable")
dispatch(rel, "timeout_not_callable_dispatch", 1.0)
t and t.delete()  # the original keeps it, and raises again at every dispatch()
attempt("timeout_string_delay", rel.timeout, "1", cb)
dispatch(rel, "timeout_string_delay_dispatch", 1.0)
r, w = os.pipe()
os.close(r)
os.close(w)
attempt("read_closed_fd", rel.read, r, cb)
out("read_closed_fd_reads", rel.report()["reads"])
rel.abort()
rel.pause()
attempt("read_not_a_socket", rel.read, "nope", cb)
attempt("signal_invalid", rel.signal, 12345, cb)
attempt("signal_sigkill", rel.signal, signal.SIGKILL, cb)
attempt("initialize_unknown_option", rel.initialize, ["epoll"], ["no-such-option"])
attempt("initialize_pyevent", rel.initialize, ["pyevent"], ["strict"])
out("report_after", {k: rel.report()[k] for k in ("timers", "signals", "reads", "writes")})

# last: rel 0.4.9.27 leaves this half-registered, and cannot delete it again
s = socket.socket()
s.close()
attempt("read_closed_socket", rel.read, s, cb)
out("read_closed_socket_reads", rel.report()["reads"])
