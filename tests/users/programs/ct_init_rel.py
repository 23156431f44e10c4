"""A cantools program's start, unchanged: init_rel() reads ct.cfg's REL_* keys, then the loop runs.

cantools' own servers (ctstart, ctpubsub) call ``cantools.util.init_rel()`` before
they start: it calls rel.set_sleep, rel.set_turbo, rel.initialize([method]),
rel.set_verbose and rel.util.loudListen with what ct.cfg says. This program does
the same, then prints what a cantools user observes.
"""

import rel
from cantools.util import init_rel

init_rel()

try:  # where this project keeps what set_sleep/set_turbo set
    from rel_core import registrar as where
except ImportError:  # rel 0.4.9.27 keeps them in rel.registrar
    import rel.registrar as where

print("sleep", where.SLEEP_SEC, "turbo", where.SLEEP_TURBO)
rel.util.emit("nobody-listens", 1)  # loudListen(True): logged
fired = []
rel.util.listen("tick", lambda n: fired.append(n))


def tick():
    rel.util.emit("tick", len(fired) + 1)
    if len(fired) == 3:
        rel.abort()
        return False
    return True


rel.timeout(0.01, tick)
rel.signal(2, rel.abort)
rel.dispatch()
print("fired", fired)
