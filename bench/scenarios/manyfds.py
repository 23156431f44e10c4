"""10k registered fds with random activity: read events handled per second.

``--pairs`` socketpairs (5000 = 10,000 fds, RLIMIT_NOFILE raised), a read
watcher on every fd. The load comes in rounds: one byte is written to one
random end of each of ``A`` distinct random pairs, and when the A read
callbacks have run (each receives its byte) the next round is written. Two
phases, one after the other in the same loop, each after a short warm-up:

* ``batch``: A = ``--active`` (a few hundred fds ready per loop iteration: the
  poller's cost per event, amortised);
* ``single``: A = 1 (one fd ready per iteration among 10k registered: the cost
  of one wait over many idle fds, as for a server with mostly idle clients).

The random rounds are drawn up front (fixed seed) so that drawing them costs
nothing during the measurement. A registrar that refuses fds past FD_SETSIZE
reports ``{"na": ...}``.
"""

from __future__ import annotations

import random
import socket

from _common import Unavailable, make_engine, now, parser, raise_fd_limit, run_main


def main():
    p = parser(__doc__)
    p.add_argument("--pairs", type=int, default=5000)
    p.add_argument("--active", type=int, default=200)
    p.add_argument("--duration", type=float, default=1.5, help="seconds per phase")
    p.add_argument("--warmup", type=float, default=0.2)
    args = p.parse_args()
    limit = raise_fd_limit(2 * args.pairs + 64)
    pairs = min(args.pairs, (limit - 64) // 2)
    eng = make_engine(args.contender)
    socks = []
    for _ in range(pairs):
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        socks.append((a, b))
    rng = random.Random(3)
    batch_rounds = []
    for _ in range(64):
        batch_rounds.append([socks[i][rng.getrandbits(1)].send
                             for i in rng.sample(range(pairs), min(args.active, pairs))])
    single_rounds = [[socks[rng.randrange(pairs)][rng.getrandbits(1)].send] for _ in range(4096)]
    # phases: (name, rounds, seconds); None: not measured (warm-up)
    phases = [(None, batch_rounds, args.warmup), ("batch", batch_rounds, args.duration),
              (None, single_rounds, args.warmup), ("single", single_rounds, args.duration)]
    # Plain locals, not a dict, and the clock read once per 256 rounds: with
    # one fd ready at a time the harness's own cost per event is otherwise a
    # large share of what is measured (for every contender alike).
    phase, handled, left, k, t_phase, until = -1, 0, 0, 0, 0.0, 0.0
    # One ready at a time is a chain: each read callback itself writes the next
    # random pair's byte (as a server relaying between idle clients would).
    chain, chain_sends = False, [batch[0] for batch in single_rounds]
    results = {}
    rounds = None

    def next_phase(t):
        nonlocal phase, handled, t_phase, until, chain
        if phase >= 0 and phases[phase][0] is not None:
            results[phases[phase][0]] = (handled, t - t_phase)
        phase += 1
        if phase == len(phases):
            eng.stop()
            return None
        handled, t_phase, until = 0, t, t + phases[phase][2]
        chain = phases[phase][1] is single_rounds
        return phases[phase][1]

    def new_round(phase_over=False):
        nonlocal rounds, k, left
        k += 1
        if rounds is None or phase_over or (k & 255 == 0 and now() >= until):
            rounds = next_phase(now())
            if rounds is None:
                return
        batch = rounds[k % len(rounds)]
        left = len(batch)
        for send in batch:
            send(b"x")

    def on_read(sock):
        nonlocal handled, left
        sock.recv(64)
        handled += 1
        if chain:
            if handled & 1023 or now() < until:
                chain_sends[handled & 4095](b"x")
            else:
                new_round(phase_over=True)
            return True
        left -= 1
        if not left:
            new_round()
        return True

    t0 = now()
    try:
        for a, b in socks:
            eng.read(a, on_read, a)
            eng.read(b, on_read, b)
    except (ValueError, OSError) as exc:
        if "FD_SETSIZE" in str(exc):
            raise Unavailable("FD_SETSIZE: %s" % (exc,)) from None
        raise
    register_s = now() - t0
    eng.timeout(0, new_round)
    eng.run()
    out = {"contender": args.contender, "method": eng.method, "fds": 2 * pairs,
           "active": args.active, "register_seconds": register_s}
    for name, (handled, secs) in results.items():
        out[name + "_events"] = handled
        out[name + "_rate"] = handled / secs
    return out


if __name__ == "__main__":
    run_main(main)
