"""rel 0.4.9.27's ``rel.registrar`` path: the engine and the OS registrars."""

from rel_core.registrar import Registrar, set_sleep, set_turbo  # noqa: F401
from rel_registrars import (  # noqa: F401
    DevpollRegistrar, EpollRegistrar, KqueueRegistrar, PollRegistrar, SelectRegistrar,
)
