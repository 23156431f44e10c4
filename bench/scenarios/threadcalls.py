"""Calls from other threads (issue 25): ``--threads`` threads arm and delete a
write watcher in a tight loop (``w = rel.write(sock, cb); w.delete()``) for
``--seconds`` while the loop runs a 10 ms repeating timer. asyncio runs the
same calls the only thread-safe way it has: ``call_soon_threadsafe(add_writer)``
then ``call_soon_threadsafe(remove_writer)``.

Reported: the timer's longest gap and its tick count (the loop keeping its
timers), the longest queue of calls seen (rel: the registrar's queue of calls
from other threads; asyncio: its ready queue), and calls made per second. The
socket's send buffer is full, so no write callback ever runs. For scale, a
``--spin`` run has the threads spin without calling the loop at all: the gaps
any thread gets beside them.
"""

from __future__ import annotations

import socket
import threading
import time

from _common import AsyncioEngine, Unavailable, make_engine, parser, run_main


def unwritable():
    a, b = socket.socketpair()
    a.setblocking(False)
    try:
        while True:
            a.send(b"x" * 65536)
    except BlockingIOError:
        pass
    return a, b


def main():
    p = parser(__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--spin", action="store_true", help="threads that spin, calling nothing")
    args = p.parse_args()
    if args.contender == "rel0":
        raise Unavailable("rel 0.4.9.27's tables are not safe to change from other threads")
    eng = make_engine(args.contender)
    sock, _peer = unwritable()
    fd = sock.fileno()
    stop = threading.Event()
    ticks = []
    made = [0] * args.threads
    seen = [0]

    def never():
        return True

    if isinstance(eng, AsyncioEngine):
        loop = eng.loop
        queue = loop._ready  # asyncio's ready queue: where call_soon_threadsafe puts calls

        def one_call():
            loop.call_soon_threadsafe(loop.add_writer, fd, never)
            loop.call_soon_threadsafe(loop.remove_writer, fd)

        def tick():
            ticks.append(time.monotonic())
            seen[0] = max(seen[0], len(queue))
            if not stop.is_set():
                loop.call_later(0.01, tick)
    else:
        rel = eng.rel
        queue = rel.rel.registrar._calls

        def one_call():
            rel.write(sock, never).delete()

        def tick():
            ticks.append(time.monotonic())
            seen[0] = max(seen[0], len(queue))
            return not stop.is_set()

    def churn(i):
        while not stop.is_set():
            if not args.spin:
                one_call()
            made[i] += 1
            if made[i] % 64 == 0:
                seen[0] = max(seen[0], len(queue))

    def end():
        stop.set()
        eng.stop()

    eng.timeout(0.01, tick)
    eng.timeout(args.seconds, end)
    threads = [threading.Thread(target=churn, args=(i,), daemon=True) for i in range(args.threads)]
    for t in threads:
        t.start()
    eng.run()
    stop.set()
    for t in threads:
        t.join(60)
    gaps = [b - a for a, b in zip(ticks, ticks[1:])] or [float("nan")]
    return {"contender": args.contender, "method": eng.method, "max_gap_ms": max(gaps) * 1e3,
            "ticks": len(ticks), "max_queue": seen[0],
            "calls_per_s": sum(made) * (1 if args.spin else 2) / args.seconds}


if __name__ == "__main__":
    run_main(main)
