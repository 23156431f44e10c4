"""rel 0.4.9.27's ``rel.rel`` path: the facade, from rel-core."""

from rel_core.rel import *  # noqa: F401,F403
from rel_core.rel import __all__  # noqa: F401
