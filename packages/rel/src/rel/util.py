"""rel 0.4.9.27's ``rel.util`` path: logging from rel-core, the bus from rel-util."""

from rel_core.logs import Basic, log, set_verbose  # noqa: F401
from rel_util.bus import ask, emit, listen, loudListen, transpire, when  # noqa: F401
