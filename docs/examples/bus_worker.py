"""The bus across processes, the worker: ``python bus_worker.py redis://127.0.0.1:6379/0``."""

import sys

import rel
from rel_util import bus

bus.listen("job", lambda n: print("job", n, flush=True))
bus.listen("square", lambda n: n * n)  # answers ask("square", n)
bus.listen("quit", rel.abort)  # main's emit("quit") ends this loop
bus.connect(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0")
bus.when("main-started", print, "main is up", flush=True)  # at once if it already transpired
print("worker ready", flush=True)
rel.signal(2, rel.abort)
rel.dispatch()
bus.disconnect()
print("worker done")
