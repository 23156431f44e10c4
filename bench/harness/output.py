"""The report (stdout, printed at the end) and the progress (stderr, as it goes)."""

from __future__ import annotations

import sys

REPORT = []  # the report's lines, printed on stdout at the end (progress goes to stderr)


def out(text=""):
    """Add ``text`` (one or more lines) to the report."""
    REPORT.extend(str(text).split("\n"))


def log(msg):
    """Print a progress line on stderr at once."""
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
