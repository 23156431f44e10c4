"""CPU used while idle: one read watcher on a socket that never gets data, and
one timer that stops the loop after ``--seconds``.

Process CPU time (time.process_time) and voluntary context switches
(getrusage ru_nvcsw: each time the process blocked, i.e. roughly how many
times the loop went to sleep and woke up) are taken from just before the loop
starts to the timer's callback.
"""

from __future__ import annotations

import resource
import socket
import time

from _common import make_engine, now, parser, run_main


def main():
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    args = p.parse_args()
    eng = make_engine(args.contender)
    r, w = socket.socketpair()
    r.setblocking(False)
    marks = {}

    def on_read():
        r.recv(16)
        return True

    def end():
        marks["cpu1"], marks["t1"] = time.process_time(), now()
        marks["csw1"] = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
        eng.stop()

    eng.read(r, on_read)
    eng.timeout(args.seconds, end)
    marks["csw0"] = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    marks["cpu0"], marks["t0"] = time.process_time(), now()
    eng.run()
    cpu = marks["cpu1"] - marks["cpu0"]
    wall = marks["t1"] - marks["t0"]
    return {"contender": args.contender, "method": eng.method, "cpu_ms": cpu * 1e3, "wall_s": wall,
            "cpu_pct": 100.0 * cpu / wall, "wakeups": marks["csw1"] - marks["csw0"]}


if __name__ == "__main__":
    run_main(main)
