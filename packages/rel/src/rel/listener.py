"""rel 0.4.9.27's ``rel.listener`` path: the watchers, from rel-core."""

from rel_core.listener import (
    EV_PERSIST, EV_READ, EV_SIGNAL, EV_TIMEOUT, EV_WRITE, Event, Signal, SocketIO, Timer, contains,
)
from rel_core.logs import Basic
