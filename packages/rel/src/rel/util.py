"""rel 0.4.9.27's ``rel.util`` path: logging from rel-core, the bus from rel-util."""

from rel_core.logs import Basic, log, set_verbose  # noqa: F401
from rel_util.bus import (  # noqa: F401
    AskTimeout, ask, ask_async, connect, disconnect, emit, listen, loudListen, transpire, when,
)
