"""rel 0.4.9.27's ``rel.rel`` path: the facade, from rel-core."""

import rel_core.rel as _facade
from rel_core.logs import log
from rel_core.rel import *
from rel_core.rel import __all__
from rel_registrars import EpollRegistrar, KqueueRegistrar, PollRegistrar, SelectRegistrar

from ._live import live

# The facade's state, as the original's module globals: the process-wide
# registrar (None until first use), whether dispatch() runs, safe_read().
__getattr__, __dir__ = live(globals(), {
    "registrar": lambda: _facade.registrar,
    "running": _facade.is_running,
    "SAFE_READ": lambda: _facade.SAFE_READ,
})
