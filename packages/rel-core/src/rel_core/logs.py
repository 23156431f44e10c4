"""Logging for rel: everything goes to the standard ``logging`` logger ``rel``.

rel 0.4.9.27 printed ``rel <text>`` lines when verbose. We log instead, so an
application's own logging configuration decides where the lines go; when the
application has configured nothing, :func:`set_verbose` attaches one stderr
handler so that ``set_verbose(True)`` still shows something, as it used to.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

logger = logging.getLogger("rel")

# Checked before any formatting, so that a quiet loop pays one global read per
# log call on its hot paths, not a string build.
verbose = False
_handler: logging.Handler | None = None


def set_verbose(isverb: bool) -> None:
    """Turn event logging (DEBUG lines on the ``rel`` logger) on or off."""
    global verbose
    verbose = bool(isverb)
    if verbose:
        show(logging.DEBUG)
    log("set_verbose %s" % (verbose,))


def show(level: int) -> None:
    """Make the ``rel`` logger's lines at ``level`` visible: lower its level if
    need be, and add a stderr handler if the application configured none."""
    global _handler
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    if _handler is None and not logger.handlers and not logging.getLogger().handlers:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(_Prefixed("%(message)s"))
        logger.addHandler(_handler)


class _Prefixed(logging.Formatter):
    """``rel <message>``, as rel printed, but not ``rel rel: ...`` for the
    messages that name rel already."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if text.startswith("rel:") else "rel " + text


def log(text: Any, *more: Any) -> None:
    """Log ``text`` (and ``more``, joined by spaces) at DEBUG when verbose;
    free otherwise."""
    if verbose:
        logger.debug(" ".join(str(m) for m in (text,) + more))


class Basic:
    """Mixin giving ``self.log(*msg)``, prefixed with the class name (as rel)."""

    __slots__ = ()

    def log(self, *msg: Any) -> None:
        if verbose:
            name = type(self).__name__
            sub = getattr(self, "subname", None)
            if sub is not None:
                name = "%s(%s)" % (name, sub)
            logger.debug("%s : %s" % (name, " ".join(str(m) for m in msg)))
