"""rel.util's bus: listen/emit/ask/when/transpire, and loudListen."""

import rel
import rel.util as util
from _difftrace import attempt, out

heard = []
util.listen("chan", lambda *a, **k: heard.append(("first", a, sorted(k.items()))) or "answer 1")
util.listen("chan", lambda *a, **k: heard.append(("second", a, sorted(k.items()))) or "answer 2")
attempt("emit", util.emit, "chan", 1, x=2)
out("emit_heard", heard)
del heard[:]
attempt("ask", util.ask, "chan", "q")
out("ask_heard", heard)
attempt("emit_nobody", util.emit, "nobody")
attempt("ask_nobody", util.ask, "nobody")
attempt("loud_off", util.loudListen, False)
attempt("ask_nobody_quiet", util.ask, "nobody")

util.when("ready", heard.append, "when before")
out("before_transpire", heard)
del heard[:]
attempt("transpire", util.transpire, "ready")
out("transpired", heard)
attempt("transpire_again", util.transpire, "ready")
out("transpired_again", heard)
util.when("ready", lambda *a, **k: heard.append(("when after", a, sorted(k.items()))), 1, k=2)
out("when_after", heard)
out("util_is_bound_by_plain_import", rel.util is util)
