"""cantools' patterns: init_rel() sets rel's engine rates from the config, then a
Creeper-style timer loop (rel.timeout returning True), stopped by Ctrl-C through
rel.signal(2, rel.abort), as `ctutil admin memcreep` runs."""
# ruff: noqa: UP004  (written as its users wrote it)

import os
import time
from types import SimpleNamespace

import rel

config = SimpleNamespace(rel=SimpleNamespace(sleep=0.05, turbo=0.001))


def init_rel():  # cantools.util, unchanged but for the config import
    if config.rel.sleep:
        rel.set_sleep(config.rel.sleep)
    if config.rel.turbo:
        rel.set_turbo(config.rel.turbo)


class Creeper(object):
    def __init__(self):
        self.count = 0
        self.start()

    def creep(self):
        self.count += 1
        print("creep", self.count, flush=True)
        if self.count == 3:
            os.kill(os.getpid(), 2)  # the operator presses Ctrl-C
        return True

    def start(self):
        rel.signal(2, rel.abort)
        rel.timeout(0.05, self.creep)
        rel.dispatch()


def guard():
    print("guard: still dispatching", flush=True)
    rel.abort()


init_rel()
rel.timeout(20, guard)
started = time.monotonic()
creeper = Creeper()
print("stopped after", creeper.count, "creeps in %.2f s" % (time.monotonic() - started))
print("running", rel.is_running())
