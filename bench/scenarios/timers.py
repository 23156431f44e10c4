"""Timer lateness: how late 20k one-shot timers fire.

Timers are armed up front with deadlines spread uniformly (fixed seed) over
``--offset .. --offset + --spread`` seconds; the offset leaves time to arm them
all before the first is due. Lateness = monotonic time when the callback runs
minus (monotonic time just before arming + delay). Every engine here keeps
timers on time.monotonic(), so the two clocks are the same.
"""

from __future__ import annotations

import random
import time

from _common import latency_summary, make_engine, parser, run_main


def main():
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--spread", type=float, default=2.0)
    p.add_argument("--offset", type=float, default=0.25)
    args = p.parse_args()
    eng = make_engine(args.contender)
    rng = random.Random(1)
    delays = [args.offset + rng.random() * args.spread for _ in range(args.count)]
    late = []
    append = late.append
    mono = time.monotonic
    n = args.count

    def fire(deadline):
        append(mono() - deadline)
        if len(late) == n:
            eng.stop()

    timeout = eng.timeout
    t0 = mono()
    for d in delays:
        timeout(d, fire, mono() + d)
    arm_s = mono() - t0
    eng.run()
    result = {"contender": args.contender, "method": eng.method, "timers": n, "arm_seconds": arm_s}
    result.update(latency_summary(late))
    return result


if __name__ == "__main__":
    run_main(main)
