"""rel 0.4.9.27's ``rel.buff`` path: the buffered writer, from rel-util."""

from rel_core.logs import log
from rel_core.rel import error, read, write
from rel_util.buff import BuffWriter, buffwrite, release_buff
