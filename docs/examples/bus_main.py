"""The bus across processes, the main program: ``python bus_main.py redis://127.0.0.1:6379/0``."""

import sys

import rel
from rel_util import bus

bus.connect(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0")
bus.transpire("main-started")  # for workers now and those that come later
print(bus.ask("square", 7))  # 49: blocks, 5 s at most


def answered(answer, error):  # inside the loop: never blocks
    print("answer", answer, "error", error)  # 144 None, or None AskTimeout(...)
    bus.emit("job", 1)
    bus.emit("quit")  # the worker leaves its loop
    rel.abort()


rel.timeout(0, bus.ask_async, "square", answered, 12)
rel.dispatch()
bus.disconnect()  # sends what is queued, then closes
