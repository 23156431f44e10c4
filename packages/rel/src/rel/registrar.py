"""rel 0.4.9.27's ``rel.registrar`` path: the engine and the OS registrars."""

import rel_core.registrar as _engine
from rel_core.errors import AbortBranch
from rel_core.listener import Event, Signal, SocketIO, Timer, contains
from rel_core.logs import Basic
from rel_core.registrar import Registrar, set_sleep, set_turbo
from rel_registrars import (
    DevpollRegistrar, EpollRegistrar, KqueueRegistrar, PollRegistrar, SelectRegistrar,
)

from ._live import live

# set_sleep()/set_turbo() rebind these in rel-core: read them there when asked.
__getattr__, __dir__ = live(globals(), {
    "SLEEP_SEC": lambda: _engine.SLEEP_SEC,
    "SLEEP_TURBO": lambda: _engine.SLEEP_TURBO,
})
