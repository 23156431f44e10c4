"""Wake-up latency: a timer's callback writes one byte to a socket; how long
until the read callback on the other end runs.

Repeated ``--count`` times (each next timer armed from the read callback, with
a delay of 0.5-1.5 ms, fixed seed); the first ``--skip`` samples are warm-up.
Bounded by ``--max-seconds`` (rel 0.4.9.27 needs ~3 ms per sample).

``--contender a,b,c`` (several, all runnable by this interpreter): one process,
each contender with its own socketpair and loop, run in turns of ``--block``
samples (~20 ms), so that every contender meets the same moments of a noisy
machine; a latency of a few tens of µs swings 2x from one second to the next.
The first ``--turn-warmup`` samples of each turn are not counted: they meet
caches the other contenders just filled, which no loop running alone meets, and
they would make up most of the p99. Here ``rel:NAME`` is a registrar instance
of its own, not the facade's. ``--count`` samples are counted per contender.
"""

from __future__ import annotations

import random
import socket

from _common import RegistrarEngine, latency_summary, make_engine, now, parser, run_main


class Sampler:
    """One contender's socketpair, watcher and samples."""

    def __init__(self, eng, delays, t_end, wanted):
        self.eng, self.delays, self.t_end, self.wanted = eng, delays, t_end, wanted
        self.r, self.w = socket.socketpair()
        self.r.setblocking(False)
        self.w.setblocking(False)
        self.samples = []
        self.uncounted = set()  # indices of samples taken while warming up
        self.sent = 0.0
        self.block_end = 0
        eng.read(self.r, self.on_read)

    def tick(self):
        self.sent = now()
        self.w.send(b"x")

    def on_read(self):
        t = now()
        self.r.recv(16)
        self.samples.append(t - self.sent)
        n = len(self.samples)
        if n >= self.block_end or n >= len(self.delays) or t > self.t_end:
            self.eng.stop()
        else:
            self.eng.timeout(self.delays[n], self.tick)
        return True

    def counted(self):
        return [v for i, v in enumerate(self.samples) if i not in self.uncounted]

    def run_block(self, size, warmup=0):
        """Take ``size`` more samples, the first ``warmup`` of them uncounted;
        False when there is nothing left to take."""
        n = len(self.samples)
        if n - len(self.uncounted) >= self.wanted or n >= len(self.delays) or now() > self.t_end:
            return False
        self.uncounted.update(range(n, n + warmup))
        self.block_end = n + size
        self.eng.timeout(self.delays[n], self.tick)
        self.eng.run()
        return True


def main():
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--skip", type=int, default=20)
    p.add_argument("--max-seconds", type=float, default=10.0)
    p.add_argument("--block", type=int, default=20, help="samples per turn, several contenders")
    p.add_argument("--turn-warmup", type=int, default=3, help="uncounted samples per turn")
    args = p.parse_args()
    specs = [c for c in args.contender.split(",") if c]
    rng = random.Random(2)
    if len(specs) == 1:
        total = args.count + args.skip
        delays = [0.0005 + rng.random() * 0.001 for _ in range(total)]
        eng = make_engine(specs[0])
        sampler = Sampler(eng, delays, now() + args.max_seconds, total)
        sampler.run_block(total, args.skip)
        result = {"contender": specs[0], "method": eng.method, "bounded": len(sampler.samples) < total}
        result.update(latency_summary(sampler.counted()))
        return result
    counted_per_turn = args.block - args.turn_warmup
    if counted_per_turn < 1:
        p.error("--block must exceed --turn-warmup")
    turns = -(-args.count // counted_per_turn)
    delays = [0.0005 + rng.random() * 0.001 for _ in range(turns * args.block)]
    t_end = now() + args.max_seconds * len(specs)
    samplers = {}
    for spec in specs:
        eng = RegistrarEngine(spec[4:]) if spec.startswith("rel:") else make_engine(spec)
        samplers[spec] = Sampler(eng, delays, t_end, args.count)
    going = True
    while going:
        going = False
        for sampler in samplers.values():
            going = sampler.run_block(args.block, args.turn_warmup) or going
    out = {"contenders": {}, "block": args.block, "turn_warmup": args.turn_warmup}
    for spec, sampler in samplers.items():
        counted = sampler.counted()[:args.count]  # the last turn may overshoot
        res = {"contender": spec, "method": sampler.eng.method, "bounded": len(counted) < args.count}
        res.update(latency_summary(counted))
        out["contenders"][spec] = res
    return out


if __name__ == "__main__":
    run_main(main)
