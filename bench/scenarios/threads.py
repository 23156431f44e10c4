"""Calls from other threads while the loop runs (issue 25), in two phases:

``--phase churn``: ``--threads`` threads (2) each arm and delete a write
watcher on a socket of their own in a tight loop (rel: ``w = rel.write(sock,
cb); w.delete()``; asyncio: ``loop.call_soon_threadsafe(loop.add_writer, fd,
cb)`` then ``call_soon_threadsafe(loop.remove_writer, fd)``) for ``--seconds``
(3), while the loop runs a timer every ``--interval`` (10 ms). Reported: the
timer's longest gap (from the start to the first tick, between ticks, and from
the last tick until the loop stopped), its number of ticks (ideal: seconds /
interval), the largest size the queue of cross-thread calls reached (sampled
at each tick, and by the churning threads every 1000 pairs, since the timer
is starved just when the queue grows most: rel_core's ``registrar._calls``, asyncio's ``loop._ready``; rel
0.4.9.27 has no such queue, its calls act from the calling thread: None), the
arm/delete pairs the threads made per second and the peak RSS
(``ru_maxrss``).

``--phase buffwrite``: a worker thread hands ``--messages`` messages of
``--size`` bytes to ``buffwrite(sock, data, sender, onerror)`` (this project:
``rel_util.buff.buffwrite``; rel 0.4.9.27: ``rel.buffwrite``; asyncio:
``loop.call_soon_threadsafe(transport.write, data)`` on a transport over the
same socket) while the loop runs; a read watcher on the peer counts the bytes.
MiB/s from the worker's first call to the last byte read.

Bounded: the loop is stopped by its own timer after ``--seconds`` (churn) or
``--max-seconds`` (buffwrite; the rate is then bytes read / time elapsed); if
it has not stopped ``--max-seconds`` after the start (a loop stuck draining
its queue), a watchdog prints an error line with what was measured so far and
ends the process.
"""

from __future__ import annotations

import os
import resource
import socket
import sys
import threading
import time

from _common import Unavailable, emit, make_engine, now, parser, run_main

MIB = 1 << 20


def peak_rss_mib():
    """The process's peak resident set size so far, MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / MIB if sys.platform == "darwin" else rss / 1024.0


def queue_probe(eng):
    """A function returning how many cross-thread calls wait for the loop, or None if unobservable."""
    loop = getattr(eng, "loop", None)
    if loop is not None:  # asyncio: call_soon_threadsafe() appends a handle to loop._ready
        ready = getattr(loop, "_ready", None)
        return (lambda: len(ready)) if ready is not None else (lambda: None)
    if eng.rel.__name__ == "rel_core":
        facade = sys.modules.get("rel_core.rel")
        registrar = getattr(facade, "registrar", None)
        calls = getattr(registrar, "_calls", None)
        if calls is not None:
            return lambda: len(registrar._calls)  # re-read: a hand-over replaces the deque
    return lambda: None  # rel 0.4.9.27: a call from a thread acts at once, from that thread


def watchdog(seconds, state, what):
    """End the process with an error line (and what was measured) if the loop
    has not stopped after ``seconds``: a stuck contender never hangs the bench."""

    def fire():
        if state.get("done"):
            return
        res = dict(state.get("partial", lambda: {})())
        so_far = []
        if res.get("gap_ms") is not None:
            so_far.append("longest timer gap so far %.0f ms" % res["gap_ms"])
        if res.get("calls_peak") is not None:
            so_far.append("%d calls queued at most" % res["calls_peak"])
        res["error"] = "%s: the loop had not stopped after %.0f s%s" % (
            what, seconds, " (%s)" % ", ".join(so_far) if so_far else "")
        emit(res)
        os._exit(0)

    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()
    return t


# -- churn ------------------------------------------------------------------------------------


def churn_asyncio(eng, sock, cb):
    """One arm/delete pair through asyncio's thread-safe door."""
    loop, fd = eng.loop, sock.fileno()
    threadsafe = loop.call_soon_threadsafe

    def pair():
        threadsafe(loop.add_writer, fd, cb)
        threadsafe(loop.remove_writer, fd)

    return pair


def churn_rel(eng, sock, cb):
    """One arm/delete pair through rel's API: ``w = rel.write(sock, cb); w.delete()``."""
    write = eng.rel.write

    def pair():
        w = write(sock, cb)
        w.delete()

    return pair


def churn(args):
    eng = make_engine(args.contender)
    make_pair = churn_asyncio if hasattr(eng, "loop") else churn_rel
    queued = queue_probe(eng)
    socks = [socket.socketpair() for _ in range(args.threads)]
    for a, _ in socks:
        a.setblocking(False)
    fired = [0]

    def on_writable():
        fired[0] += 1
        return True  # keep it: the thread that armed it deletes it

    state = {"ticks": [], "peak": None, "pairs": [0] * args.threads, "errors": []}
    ticks = state["ticks"]
    stop = threading.Event()
    marks = {}

    def worker(i, sock):
        pair = make_pair(eng, sock, on_writable)
        deadline = marks["t0"] + args.seconds
        n = 0
        try:
            while not stop.is_set() and now() < deadline:
                pair()
                n += 1
                if not n % 1000:  # the timer may be starved just when the queue grows most
                    note_queue()
                    state["pairs"][i] = n
        except Exception as exc:  # the contender misbehaved from a thread: reported
            state["errors"].append("%s: %s" % (type(exc).__name__, exc))
        state["pairs"][i] = n

    threads = []

    def note_queue():
        q = queued()
        if q is not None and (state["peak"] is None or q > state["peak"]):
            state["peak"] = q

    def tick():
        ticks.append(now())
        note_queue()
        if "t1" not in marks:
            eng.timeout(args.interval, tick)

    def start():
        marks["t0"] = now()
        for i, (a, _) in enumerate(socks):
            t = threading.Thread(target=worker, args=(i, a), daemon=True)
            threads.append(t)
            t.start()
        eng.timeout(args.interval, tick)
        eng.timeout(args.seconds, end)

    def end():
        marks["t1"] = now()
        stop.set()
        eng.stop()

    def result():
        t0 = marks.get("t0")
        t1 = marks.get("t1") or now()
        if t0 is None:
            return {"contender": args.contender, "method": eng.method}
        points = [t0] + list(ticks) + [t1]
        gap = max(b - a for a, b in zip(points, points[1:]))
        in_window = sum(1 for t in ticks if t <= t0 + args.seconds)
        return {"contender": args.contender, "method": eng.method, "seconds": t1 - t0,
                "gap_ms": gap * 1e3, "ticks": in_window, "ticks_total": len(ticks),
                "ideal_ticks": int(args.seconds / args.interval), "calls_peak": state["peak"],
                "pairs": sum(state["pairs"]), "pairs_per_s": sum(state["pairs"]) / args.seconds,
                "writable_callbacks": fired[0], "rss_peak_mib": peak_rss_mib(),
                "errors": state["errors"][:3]}

    state["partial"] = result
    watchdog(args.max_seconds, state, "churn")
    eng.timeout(0, start)
    eng.run()
    stop.set()
    for t in threads:
        t.join(5.0)
    state["done"] = True
    res = result()
    if state["errors"]:
        res["error"] = "churn thread: %s" % (state["errors"][0][:150],)
    return res


# -- buffwrite ----------------------------------------------------------------------------------


def buffwrite_for(eng, contender, sock, onerror):
    """A function that hands one message to the contender's cross-thread write."""
    if hasattr(eng, "loop"):
        import asyncio

        loop = eng.loop
        transport, _ = loop.run_until_complete(loop.create_connection(asyncio.Protocol, sock=sock))
        eng.transport = transport  # keep a reference
        threadsafe, write = loop.call_soon_threadsafe, transport.write
        return lambda data: threadsafe(write, data)
    if contender == "rel0":
        import rel

        buffwrite = rel.buffwrite
    else:
        try:
            from rel_util.buff import buffwrite
        except ImportError as exc:
            raise Unavailable("rel_util.buff.buffwrite: %s" % (exc,)) from None

    def sender(s, d):
        return s.send(d)

    return lambda data: buffwrite(sock, data, sender, onerror)


def throughput(args):
    eng = make_engine(args.contender)
    queued = queue_probe(eng)
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    total = args.messages * args.size
    errors = []
    marks = {}
    state = {"got": 0, "peak": None}
    buf = bytearray(MIB)

    def finish():
        if "t1" not in marks:
            marks["t1"] = now()
            eng.stop()

    def onerror(msg):
        errors.append(str(msg))
        finish()

    send = buffwrite_for(eng, args.contender, a, onerror)
    payload = bytes(range(256)) * (args.size // 256) + bytes(args.size % 256)

    def on_read():
        n = b.recv_into(buf)
        state["got"] += n
        if state["got"] >= total or n == 0:
            finish()
        return True

    def worker():
        try:
            for _ in range(args.messages):
                send(payload)
        except Exception as exc:  # the contender misbehaved from a thread: reported
            errors.append("%s: %s" % (type(exc).__name__, exc))
        marks["handed"] = now()

    def sample():
        q = queued()
        if q is not None and (state["peak"] is None or q > state["peak"]):
            state["peak"] = q
        if "t1" not in marks:
            eng.timeout(0.01, sample)

    def start():
        marks["t0"] = now()
        marks["cpu0"] = time.process_time()
        threading.Thread(target=worker, daemon=True).start()
        eng.timeout(0.01, sample)

    def result():
        t0 = marks.get("t0")
        if t0 is None:
            return {"contender": args.contender, "method": eng.method}
        wall = (marks.get("t1") or now()) - t0
        got = state["got"] / MIB
        handed = marks.get("handed")
        return {"contender": args.contender, "method": eng.method, "messages": args.messages,
                "size": args.size, "mib": total / MIB, "mib_received": got, "complete": state["got"] >= total,
                "seconds": wall, "mib_per_s": got / wall if wall > 0 else None,
                "handed_seconds": handed - t0 if handed else None,
                "cpu_seconds": time.process_time() - marks["cpu0"], "calls_peak": state["peak"],
                "rss_peak_mib": peak_rss_mib(), "errors": errors[:3]}

    state["partial"] = result
    watchdog(args.max_seconds + 10.0, state, "buffwrite")
    eng.read(b, on_read)
    eng.timeout(0, start)
    eng.timeout(args.max_seconds, finish)
    eng.run()
    state["done"] = True
    res = result()
    if errors and not res.get("complete"):
        res["error"] = "buffwrite: %s" % (errors[0][:150],)
    return res


def main():
    p = parser(__doc__)
    p.add_argument("--phase", choices=("churn", "buffwrite"), default="churn")
    p.add_argument("--seconds", type=float, default=3.0, help="churn: how long the threads churn")
    p.add_argument("--interval", type=float, default=0.01, help="churn: the timer's period")
    p.add_argument("--threads", type=int, default=2, help="churn: how many threads churn")
    p.add_argument("--messages", type=int, default=20000, help="buffwrite: how many messages")
    p.add_argument("--size", type=int, default=4096, help="buffwrite: bytes per message")
    p.add_argument("--max-seconds", type=float, default=30.0,
                   help="churn: the watchdog's bound on the whole run; buffwrite: the loop's bound")
    args = p.parse_args()
    return churn(args) if args.phase == "churn" else throughput(args)


if __name__ == "__main__":
    run_main(main)
