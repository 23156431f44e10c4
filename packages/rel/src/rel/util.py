"""rel 0.4.9.27's ``rel.util`` path: logging from rel-core, the bus from rel-util."""

import rel_core.logs as _logs
import rel_util.bus as _bus
from rel_core.logs import Basic, log, set_verbose
from rel_util.bus import (
    AskTimeout, _not_listening as notListening, ask, ask_async, connect, disconnect, emit,
    happenings, listen, listeners, loudListen, transpire, when,
)

from ._live import live

# set_verbose() and loudListen() rebind these: read them where they live.
__getattr__, __dir__ = live(globals(), {
    "verbose": lambda: _logs.verbose,
    "LOUD": lambda: _bus.LOUD,
})
