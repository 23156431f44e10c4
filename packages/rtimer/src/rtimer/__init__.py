"""rtimer: a countdown timer for the terminal, on rel's event loop.

Run it as ``rtimer [seconds] [minutes] [hours] [update_increment]`` (see
``rtimer --help``), or from Python::

    from rtimer import Timer

    Timer(30).start()         # 30 seconds, then the alarm

:class:`~rtimer.timer.Timer` and :func:`timerCLI` are also rel 0.4.9.27's
``rel.tools.Timer`` and ``rel.tools.timerCLI``. The code is meant to be read: :mod:`rtimer.timer`
is the worked example of rel's ``timeout``/``signal``/``dispatch``/``abort``.
"""

from ._version import __version__
from .alarm import RT_MEDIA
from .cli import main, timerCLI
from .timer import Timer

__all__ = ["Timer", "timerCLI", "main", "RT_MEDIA", "__version__"]
