"""The bus across two processes through a real redis-server (started here on a
free port in a temporary folder, stopped at the end).

Contenders (``--contender``):

* ``rel:NAME`` (or ``rel``): rel_util's bus connected to Redis in both
  processes: the publisher ``emit()``s, the listener's ``listen()`` callback
  receives, on rel_core's loop with registrar NAME. During the burst, a third
  party (this script) writes an 8-byte timestamp to an unrelated socketpair
  every 2 ms, watched by a rel read watcher in the listener: its wake-up
  latency says whether the loop keeps serving other watchers under the load.
* ``redispy``: the reference, redis-py alone: a blocking ``PubSub.listen()``
  loop (hiredis installed) in the listener, pipelined ``PUBLISH`` (1000 per
  round trip) in the publisher. It serves nothing else meanwhile.

Both publish the same payload, JSON ``[i, t_sent]``, and decode it on receipt.
Phases, per contender: a burst of ``--count`` messages, as fast as the
publisher goes (messages/s = count / (last arrival - first send)); then
``--paced`` messages one every 0.5 ms (latency = arrival - send, one clock:
CLOCK_MONOTONIC is system-wide on Linux).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from _common import Unavailable, latency_summary, parser, run_main

PACED_GAP = 0.0005
PING_GAP = 0.002


# -- redis-server ------------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        binary = os.environ.get("REL_REDIS_SERVER") or shutil.which("redis-server")
        if not binary or not os.path.exists(binary):
            raise Unavailable("no redis-server (apt-get install redis-server)")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.dir = tempfile.mkdtemp(prefix="rel-bench-redis-")
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir, "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = "redis://127.0.0.1:%d/0" % (self.port,)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(8).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        self.close()
        raise Unavailable("redis-server did not start")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- the two processes ------------------------------------------------------------------------


def listener_rel(url: str, total: int, burst: int, ping_fd: int, method: str) -> dict:
    import rel_core as rel
    from rel_util import bus

    if method:
        rel.initialize([method], ["strict"])
    arrivals = []
    sent = []
    pings = []
    ping = socket.socket(fileno=ping_fd)
    ping.setblocking(False)

    def on_ping() -> bool:
        now = time.monotonic()
        try:
            data = ping.recv(4096)
        except BlockingIOError:
            return True
        for k in range(0, len(data) - 7, 8):
            pings.append((now, now - struct.unpack("d", data[k:k + 8])[0]))
        return True

    ids = set()
    dups = []

    def on_message(i: int, t: float) -> None:
        if i in ids:
            dups.append(i)  # would be a bus bug: reported
            return
        ids.add(i)
        arrivals.append(time.monotonic())
        sent.append(t)
        if len(arrivals) == burst:
            print("burst", flush=True)
        elif len(arrivals) == total:
            rel.abort()

    rel.read(ping, on_ping)
    bus.listen("bench", on_message)
    bus.connect(url)
    print("ready", flush=True)
    rel.timeout(120, rel.abort)
    rel.dispatch()
    bus.disconnect()
    return dict(summarize(arrivals, sent, burst, pings), duplicates=len(dups))


def listener_redispy(url: str, total: int, burst: int) -> dict:
    import redis

    client = redis.Redis.from_url(url, protocol=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("rel:c:bench")
    print("ready", flush=True)
    arrivals = []
    sent = []
    loads = json.loads
    for msg in pubsub.listen():
        if msg["type"] != "message":
            continue
        i, t = loads(msg["data"])
        arrivals.append(time.monotonic())
        sent.append(t)
        if len(arrivals) == burst:
            print("burst", flush=True)
        elif len(arrivals) == total:
            break
    pubsub.close()
    return summarize(arrivals, sent, burst, [])


def summarize(arrivals: list, sent: list, burst: int, pings: list) -> dict:
    out = {"received": len(arrivals)}
    if len(arrivals) >= burst:
        span = arrivals[burst - 1] - sent[0]
        out["rate"] = burst / span if span > 0 else None
        out["burst_seconds"] = span
        end = arrivals[burst - 1]
        during = sorted(lat for at, lat in pings if sent[0] <= at <= end)
        if during:
            lat = latency_summary(during)
            out["ping_p50_us"], out["ping_p99_us"], out["ping_n"] = lat["p50_us"], lat["p99_us"], lat["n"]
    paced = [a - s for a, s in zip(arrivals[burst:], sent[burst:])]
    if paced:
        lat = latency_summary(paced)
        out["p50_us"], out["p99_us"] = lat["p50_us"], lat["p99_us"]
    return out


def publisher_rel(url: str, burst: int, paced: int, method: str) -> None:
    import rel_core as rel
    from rel_util import bus

    if method:
        rel.initialize([method], ["strict"])
    bus.connect(url)
    emit = bus.emit
    monotonic = time.monotonic
    left = [paced]

    def do_burst() -> None:
        for i in range(burst):
            emit("bench", i, monotonic())

    def go_on() -> bool:  # the listener has the whole burst: the paced phase
        sys.stdin.readline()
        rel.timeout(PACED_GAP, tick)
        return False

    def tick() -> bool:
        emit("bench", burst + paced - left[0], monotonic())
        left[0] -= 1
        if not left[0]:
            rel.timeout(0.5, rel.abort)
            return False
        return True

    rel.timeout(0, do_burst)
    rel.read(sys.stdin, go_on)
    rel.timeout(120, rel.abort)
    rel.dispatch()
    bus.disconnect()


def publisher_redispy(url: str, burst: int, paced: int) -> None:
    import redis

    client = redis.Redis.from_url(url, protocol=2)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    monotonic = time.monotonic
    pipe = client.pipeline(transaction=False)
    for i in range(burst):
        pipe.publish("rel:c:bench", dumps([i, monotonic()]))
        if len(pipe) == 1000:
            pipe.execute()
    pipe.execute()
    sys.stdin.readline()  # the listener has the whole burst: the paced phase
    for i in range(paced):
        client.publish("rel:c:bench", dumps([burst + i, monotonic()]))
        time.sleep(PACED_GAP)
    client.close()


# -- this process: the orchestra ---------------------------------------------------------------


def main() -> dict:
    p = parser(__doc__)
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--paced", type=int, default=2000)
    p.add_argument("--role", default="")
    p.add_argument("--url", default="")
    p.add_argument("--ping-fd", type=int, default=-1)
    args = p.parse_args()
    impl = "redispy" if args.contender == "redispy" else "rel"
    method = args.contender.split(":", 1)[1] if args.contender.startswith("rel:") else ""
    if args.role == "listen":
        total = args.count + args.paced
        if impl == "rel":
            return listener_rel(args.url, total, args.count, args.ping_fd, method)
        return listener_redispy(args.url, total, args.count)
    if args.role == "publish":
        if impl == "rel":
            publisher_rel(args.url, args.count, args.paced, method)
        else:
            publisher_redispy(args.url, args.count, args.paced)
        return {"published": args.count + args.paced}
    try:
        import redis  # noqa: F401

        if impl == "rel":
            import rel_util.redis_bus  # noqa: F401
    except ImportError as exc:
        raise Unavailable("needs redis-py: %s" % (exc,)) from None
    try:
        import hiredis  # noqa: F401
    except ImportError:
        raise Unavailable("needs hiredis (the reference is redis-py with hiredis)") from None
    server = Server()
    mine, theirs = socket.socketpair()
    stop = threading.Event()
    try:
        common = [sys.executable, os.path.abspath(__file__), "--contender", args.contender,
                  "--url", server.url, "--count", str(args.count), "--paced", str(args.paced)]
        listener = subprocess.Popen(common + ["--role", "listen", "--ping-fd", str(theirs.fileno())],
                                    stdout=subprocess.PIPE, text=True, pass_fds=(theirs.fileno(),))
        theirs.close()
        if listener.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
            raise RuntimeError("the listener did not start")

        def pinger() -> None:  # an unrelated socket the listener's loop must keep serving
            while not stop.wait(PING_GAP):
                try:
                    mine.send(struct.pack("d", time.monotonic()))
                except OSError:
                    return

        if impl == "rel":
            threading.Thread(target=pinger, daemon=True).start()
        publisher = subprocess.Popen(common + ["--role", "publish"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)
        if listener.stdout.readline().strip() != "burst":  # type: ignore[union-attr]
            raise RuntimeError("the listener did not get the burst")
        publisher.stdin.write("go\n")  # type: ignore[union-attr]
        publisher.stdin.flush()  # type: ignore[union-attr]
        if publisher.wait(150) != 0:
            raise RuntimeError("publisher failed")
        out, _ = listener.communicate(timeout=150)
        result = json.loads(out.strip().splitlines()[-1])
    finally:
        stop.set()
        mine.close()
        server.close()
    result.update(contender=args.contender, count=args.count, paced=args.paced)
    try:
        from rel_util import _resp

        result["parser"] = _resp.PARSER
    except ImportError:
        pass
    return result


if __name__ == "__main__":
    run_main(main)
