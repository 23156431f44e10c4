"""initialize(): methods, options, the list passed in, switching registrars."""

import socket

import rel
from _difftrace import attempt, dispatch, out

out("supported_methods_type", type(rel.supported_methods).__name__)
out("supported_methods_has", [m for m in ("epoll", "poll", "select") if m in rel.supported_methods])
mine = ["select"]
attempt("select", rel.initialize, mine)
out("list_passed_in", mine)
attempt("poll_strict", rel.initialize, ["poll"], ["strict"])
attempt("unknown_then_fallback", rel.initialize, ["no-such-method", "epoll"])

# a watcher registered before a switch keeps working after it
seen = []
a, b = socket.socketpair()
rel.read(a, lambda: seen.append(a.recv(10)) or False)
attempt("switch", rel.initialize, ["poll"])
b.send(b"moved")
dispatch(rel, "switch_dispatch", 1.0)
out("after_switch", seen)

# options (as cantools and dez pass them); 'report' adds a status timer
attempt("options", rel.initialize, ["epoll"], ("report", "threaded"))
out("report_timer", rel.report()["timers"])
