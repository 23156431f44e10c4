"""Wake-up latency: a timer's callback writes one byte to a socket; how long
until the read callback on the other end runs.

Repeated ``--count`` times (each next timer armed from the read callback, with
a delay of 0.5-1.5 ms, fixed seed); the first ``--skip`` samples are warm-up.
Bounded by ``--max-seconds`` (rel 0.4.9.27 needs ~3 ms per sample).
"""

from __future__ import annotations

import random
import socket

from _common import latency_summary, make_engine, now, parser, run_main


def main():
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--skip", type=int, default=20)
    p.add_argument("--max-seconds", type=float, default=10.0)
    args = p.parse_args()
    eng = make_engine(args.contender)
    r, w = socket.socketpair()
    r.setblocking(False)
    w.setblocking(False)
    rng = random.Random(2)
    total = args.count + args.skip
    delays = [0.0005 + rng.random() * 0.001 for _ in range(total)]
    samples = []
    sent = [0.0]
    t_end = now() + args.max_seconds

    def tick():
        sent[0] = now()
        w.send(b"x")

    def on_read():
        t = now()
        r.recv(16)
        samples.append(t - sent[0])
        if len(samples) >= total or t > t_end:
            eng.stop()
        else:
            eng.timeout(delays[len(samples)], tick)
        return True

    eng.read(r, on_read)
    eng.timeout(delays[0], tick)
    eng.run()
    result = {"contender": args.contender, "method": eng.method, "bounded": len(samples) < total}
    result.update(latency_summary(samples[args.skip:]))
    return result


if __name__ == "__main__":
    run_main(main)
