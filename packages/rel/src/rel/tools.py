"""rel 0.4.9.27's ``rel.tools`` path: the countdown timer, from rtimer."""

from rtimer import Timer, timerCLI  # noqa: F401
