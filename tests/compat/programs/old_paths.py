"""rel 0.4.9.27's submodule paths, as programs imported them, then a short run
on the registrar chosen through rel.registrar's class names."""
# ruff: noqa: I001, E402  (written as its users wrote it)

import sys

import rel
from rel import tick
from rel.errors import AbortBranch
from rel.listener import EV_READ, Timer, contains
from rel.registrar import EpollRegistrar, PollRegistrar, Registrar, SelectRegistrar
from rel.tools import timerCLI
from rel.util import loudListen

import rel.util

loudListen(True)
rel.util.log("logged through rel.util.log")
print("subclasses", all(issubclass(c, Registrar) for c in (EpollRegistrar, PollRegistrar, SelectRegistrar)))
print("contains", contains(EV_READ | 1, EV_READ), callable(timerCLI), issubclass(AbortBranch, Exception))

method = "epoll" if sys.platform.startswith("linux") else "select"
print("initialized", rel.initialize([method], ["strict"]) == method)
ticks = set()


def count():
    ticks.add(tick())
    if len(ticks) >= 3:
        return False
    return True


timer = rel.timeout(0.01, count)
print("timer is a rel.listener.Timer", isinstance(timer, Timer))
rel.dispatch()  # returns when nothing is registered any more
print("distinct ticks", len(ticks))
