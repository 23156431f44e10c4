"""The users' suite's fixture: a user's program as a real process, killed at the end.

See users_support.py for what the suite runs and how.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from users_support import Program

# The TLS tests' certificates come from relutil_tls.py, beside rel-util's unit
# tests (appended: this folder's own modules come first).
sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "packages", "rel-util", "tests"))


@pytest.fixture
def program(tmp_path: Path) -> Iterator:
    """program(argv, name=..., stdin=...) starts a user's program in tmp_path; all are killed at the end."""
    started: List[Program] = []

    def start(argv: List[str], name: str = "program", stdin: Optional[bytes] = None,
              cwd: Optional[Path] = None) -> Program:
        p = Program(argv, cwd or tmp_path, name, stdin)
        started.append(p)
        return p

    yield start
    for p in started:
        p.kill()

