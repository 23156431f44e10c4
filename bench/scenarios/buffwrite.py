"""buffwrite throughput: ``--mib`` MiB pushed through a socketpair by
``buffwrite(sock, data, sender, onerror)`` (sender = ``lambda s, d: s.send(d)``,
as websocket-client passes), drained by a read watcher on the other end.

* this project: ``rel_util.buff.buffwrite`` on rel_core;
* rel 0.4.9.27: its ``rel.buffwrite`` (time-bounded by ``--max-seconds``: the
  rate is then bytes received / seconds elapsed);
* asyncio: ``loop.sock_sendall`` (its low-level equivalent: add_writer and a
  memoryview), drained by ``add_reader``.

Wall time and process CPU time run from the buffwrite call (the payload is
built before) until the reader has every byte.
"""

from __future__ import annotations

import socket
import time

from _common import Unavailable, make_engine, now, parser, run_main

MIB = 1 << 20


def main():
    p = parser(__doc__)
    p.add_argument("--mib", type=float, default=64)
    p.add_argument("--max-seconds", type=float, default=30.0)
    args = p.parse_args()
    size = int(args.mib * MIB)
    eng = make_engine(args.contender)
    if args.contender == "asyncio":
        start_write = _asyncio_writer(eng)
    elif args.contender == "rel0":
        import rel

        start_write = _rel_writer(rel.buffwrite)
    else:
        try:
            from rel_util.buff import buffwrite
        except ImportError as exc:
            raise Unavailable("rel_util.buff.buffwrite: %s" % (exc,)) from None
        start_write = _rel_writer(buffwrite)
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    buf = bytearray(MIB)
    got = 0
    marks = {}
    errors = []

    def finish():
        if "t1" not in marks:
            marks["t1"], marks["cpu1"] = now(), time.process_time()
            eng.stop()

    def on_read():
        nonlocal got
        n = b.recv_into(buf)
        got += n
        if got >= size or n == 0:
            finish()
        return True

    def onerror(msg):
        errors.append(str(msg))
        finish()

    eng.read(b, on_read)
    eng.timeout(args.max_seconds, finish)
    marks["t0"], marks["cpu0"] = now(), time.process_time()
    start_write(a, payload, onerror)
    eng.run()
    wall = marks["t1"] - marks["t0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    mib_got = got / MIB
    return {"contender": args.contender, "method": eng.method, "mib": args.mib, "mib_received": mib_got,
            "complete": got >= size, "errors": errors[:3], "seconds": wall, "cpu_seconds": cpu,
            "mib_per_s": mib_got / wall, "cpu_s_per_mib": cpu / mib_got if got else None}


def _rel_writer(buffwrite):
    def start(sock, data, onerror):
        buffwrite(sock, data, lambda s, d: s.send(d), onerror)

    return start


def _asyncio_writer(eng):
    def start(sock, data, onerror):
        task = eng.loop.create_task(eng.loop.sock_sendall(sock, data))

        def done(t):
            if not t.cancelled() and t.exception() is not None:
                onerror(t.exception())

        task.add_done_callback(done)
        eng.task = task  # keep a reference

    return start


if __name__ == "__main__":
    run_main(main)
