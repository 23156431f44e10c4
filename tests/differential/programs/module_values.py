"""Module-level values users read, and what set_sleep()/set_turbo() change."""

import rel
import rel.registrar
import rel.version
from _difftrace import attempt, out

out("version_type", type(rel.__version__).__name__, rel.__version__ == rel.version.__version__)
out("ev", [rel.EV_TIMEOUT, rel.EV_READ, rel.EV_WRITE, rel.EV_SIGNAL, rel.EV_PERSIST])
out("sleep_defaults", rel.registrar.SLEEP_SEC, rel.registrar.SLEEP_TURBO)
attempt("set_sleep", rel.set_sleep, 0.5)
attempt("set_turbo", rel.set_turbo, 0.25)
out("sleep_after_set", rel.registrar.SLEEP_SEC, rel.registrar.SLEEP_TURBO)
out("facade_state", rel.rel.registrar is None, rel.rel.running, rel.rel.SAFE_READ)
rel.safe_read()
out("safe_read_state", rel.rel.SAFE_READ)
rel.timeout(None, lambda: None)
out("registrar_chosen", rel.rel.registrar is not None)
out("util_loud", rel.util.LOUD)
rel.util.loudListen(False)
out("util_loud_after", rel.util.LOUD)
