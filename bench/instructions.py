"""Instructions per ping-pong round trip, counted by callgrind.

```
python bench/instructions.py                               # epoll and selectors, debug off
python bench/instructions.py --registrars epoll --modes off,report,debug
```

Timing a loop on a shared machine swings 1.5x from one second to the next;
counting instructions does not. Each figure is the callgrind total of a run
of 8000 round trips minus that of a run of 4000, divided by 4000: start-up,
imports and teardown cancel out, what is left is the cost of one round trip
(two passes of the loop, each one wait and one read callback that receives a
byte and sends one back). ``--modes``: ``off`` (no diagnostics: what every
program pays), ``report`` (measuring, as ``initialize(options=['report'])``),
``debug`` (as ``REL_DEBUG=1``). Needs valgrind; runs the ``rel_core`` that
this interpreter imports (point PYTHONPATH at another tree to compare).

``python bench/instructions.py --run N REGISTRAR MODE`` is the measured
program itself.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import socket
import subprocess
import sys
from typing import Dict

SMALL, LARGE = 4000, 8000


def pingpong(n: int, name: str, mode: str) -> None:
    """``n`` round trips over a socketpair on a fresh ``name`` registrar."""
    os.environ.pop("REL_DEBUG", None)
    from rel_core import discovery

    reg = discovery.load(name)()
    if mode != "off":
        from rel_core import debug

        debug.attach(reg, debug.DEFAULT_THRESHOLD, warn=(mode == "debug"))
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    trips = [0]

    def on_a() -> bool:
        a.recv(1)
        trips[0] += 1
        if trips[0] >= n:
            reg.abort()
        else:
            a.send(b"x")
        return True

    def on_b() -> bool:
        b.recv(1)
        b.send(b"x")
        return True

    reg.read(a, on_a)
    reg.read(b, on_b)
    a.send(b"x")
    # Everything made so far (modules, the registrar) moves out of the
    # collector's sight: its occasional full pass over them, whose cost
    # depends on what was imported, would land in one run and not the other.
    gc.freeze()
    reg.dispatch()
    assert trips[0] == n
    reg.close()


def count(n: int, name: str, mode: str) -> int:
    """Instructions callgrind counts for ``--run n name mode``."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, os.path.abspath(__file__), "--run", str(n), name, mode],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, PYTHONHASHSEED="0"))  # the same dict layouts every run
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit("callgrind run failed:\n" + done.stderr[-2000:])
    return int(found.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--registrars", default="epoll,selectors")
    p.add_argument("--modes", default="off")
    p.add_argument("--run", nargs=3, metavar=("N", "REGISTRAR", "MODE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        pingpong(int(args.run[0]), args.run[1], args.run[2])
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    import rel_core

    print("rel_core from %s" % (os.path.dirname(rel_core.__file__),))
    print("| registrar | mode | instructions per round trip |")
    print("|---|---|---:|")
    results: Dict[str, float] = {}
    for name in args.registrars.split(","):
        for mode in args.modes.split(","):
            per_trip = (count(LARGE, name, mode) - count(SMALL, name, mode)) / (LARGE - SMALL)
            results["%s/%s" % (name, mode)] = per_trip
            print("| %s | %s | %.0f |" % (name, mode, per_trip), flush=True)


if __name__ == "__main__":
    main()
