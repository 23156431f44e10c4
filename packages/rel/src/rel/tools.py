"""rel 0.4.9.27's ``rel.tools`` path: the countdown timer, from rtimer."""

from rtimer import RT_MEDIA, Timer, timerCLI
from rtimer.cli import USAGE as RT_USAGE
