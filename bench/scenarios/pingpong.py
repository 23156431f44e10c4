"""Socket ping-pong: round trips per second over a socketpair.

Both ends have a read watcher; each receives its 1-byte message and answers it,
so every loop iteration handles one readable fd. A round trip is counted when
the first end gets its byte back. Measured after a warm-up, for a fixed time
(ended by a timer); rel 0.4.9.27 is counted the same way, its rate is simply low.
"""

from __future__ import annotations

import socket

from _common import make_engine, now, parser, run_main


def main():
    p = parser(__doc__)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--warmup", type=float, default=0.2)
    args = p.parse_args()
    eng = make_engine(args.contender)
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    count = 0
    marks = {}

    def on_a():
        nonlocal count
        a.recv(1)
        count += 1
        a.send(b"x")
        return True

    def on_b():
        b.recv(1)
        b.send(b"x")
        return True

    def start():
        marks["c0"], marks["t0"] = count, now()

    def end():
        marks["c1"], marks["t1"] = count, now()
        eng.stop()

    eng.read(a, on_a)
    eng.read(b, on_b)
    eng.timeout(args.warmup, start)
    eng.timeout(args.warmup + args.duration, end)
    a.send(b"x")
    eng.run()
    trips = marks["c1"] - marks["c0"]
    secs = marks["t1"] - marks["t0"]
    return {"contender": args.contender, "method": eng.method, "round_trips": trips,
            "seconds": secs, "rate": trips / secs}


if __name__ == "__main__":
    run_main(main)
