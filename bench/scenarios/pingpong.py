"""Socket ping-pong: round trips per second over a socketpair.

Both ends have a read watcher; each receives its 1-byte message and answers it,
so every loop iteration handles one readable fd. A round trip is counted when
the first end gets its byte back. Measured after a warm-up, for a fixed time
(ended by the engine's own timer); rel 0.4.9.27 is counted the same way, its
rate is simply low.

``--contender a,b,c`` (several, all runnable by this interpreter): one process,
each contender with its own socketpair and loop, run in turns of ``--turn``
seconds until each has run ``--duration`` seconds, so that every contender
meets the same moments of a shared machine (whose speed swings 1.5x from one
second to the next). Each contender's first turn is its warm-up. Here
``rel:NAME`` is a registrar instance of its own, not the facade's.
"""

from __future__ import annotations

import socket

from _common import RegistrarEngine, make_engine, now, parser, run_main


class Player:
    """One contender's socketpair, watchers and count."""

    def __init__(self, eng):
        self.eng = eng
        self.a, self.b = socket.socketpair()
        self.a.setblocking(False)
        self.b.setblocking(False)
        self.trips = 0
        self.seconds = 0.0
        self.counted_trips = 0
        eng.read(self.a, self.on_a)
        eng.read(self.b, self.on_b)
        self.a.send(b"x")  # the one message in flight, for good

    def on_a(self):
        self.a.recv(1)
        self.trips += 1
        self.a.send(b"x")
        return True

    def on_b(self):
        self.b.recv(1)
        self.b.send(b"x")
        return True

    def turn(self, seconds, counted, warmup=0.0):
        """Run the loop for ``warmup + seconds``, counting the last ``seconds``
        (its own timers mark them and end it)."""
        marks = {}

        def start():
            marks["c0"], marks["t0"] = self.trips, now()

        def end():
            marks["c1"], marks["t1"] = self.trips, now()
            self.eng.stop()

        self.eng.timeout(warmup, start)
        self.eng.timeout(warmup + seconds, end)
        self.eng.run()
        if counted:
            self.counted_trips += marks["c1"] - marks["c0"]
            self.seconds += marks["t1"] - marks["t0"]

    def result(self, spec):
        return {"contender": spec, "method": self.eng.method, "round_trips": self.counted_trips,
                "seconds": self.seconds, "rate": self.counted_trips / self.seconds}


def main():
    p = parser(__doc__)
    p.add_argument("--duration", type=float, default=2.0, help="counted seconds per contender")
    p.add_argument("--warmup", type=float, default=0.2)
    p.add_argument("--turn", type=float, default=0.05, help="seconds per turn, several contenders")
    args = p.parse_args()
    specs = [c for c in args.contender.split(",") if c]
    if len(specs) == 1:
        # One run: stop() is abort() for a facade, which deletes the watchers.
        player = Player(make_engine(specs[0]))
        player.turn(args.duration, True, warmup=args.warmup)
        return player.result(specs[0])
    players = {}
    for spec in specs:
        eng = RegistrarEngine(spec[4:]) if spec.startswith("rel:") else make_engine(spec)
        players[spec] = Player(eng)
    for player in players.values():
        player.turn(args.warmup, False)
    for _ in range(max(1, round(args.duration / args.turn))):
        for player in players.values():
            player.turn(args.turn, True)
    return {"contenders": {spec: player.result(spec) for spec, player in players.items()},
            "turn": args.turn}


if __name__ == "__main__":
    run_main(main)
