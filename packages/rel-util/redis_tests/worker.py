"""A process on the bus, for the tests: ``worker.py MODE URL NAMESPACE ARGS...``.

Prints one JSON object per line: {"event": "ready"} once it is on the bus,
then what its mode reports. Every mode ends itself after 120 s at most."""

from __future__ import annotations

import json
import sys
import time

import rel_core as rel
from rel_util import bus


FINISHED = []


def say(event: str, **data: object) -> None:
    print(json.dumps(dict(event=event, **data)), flush=True)


def finish() -> None:
    FINISHED.append(True)
    rel.abort()


def collect(url: str, ns: str, count: str, channels: str) -> None:
    """Listen on each channel; once ``count`` messages came in all, report them."""
    total = int(count)
    got: dict = {ch: [] for ch in channels.split(",")}
    seen = [0]

    def on(ch: str, value: object) -> None:
        got[ch].append(value)
        seen[0] += 1
        if seen[0] == total:
            say("done", got=got)
            finish()

    for ch in got:
        bus.listen(ch, lambda value, ch=ch: on(ch, value))
    bus.connect(url, namespace=ns)
    say("ready")


def publish(url: str, ns: str, count: str, channels: str) -> None:
    """Emit ``count`` numbers round-robin over the channels, then leave (which flushes)."""
    chs = channels.split(",")
    bus.connect(url, namespace=ns)
    say("ready")
    for i in range(int(count)):
        bus.emit(chs[i % len(chs)], i)
    bus.disconnect()
    say("done")
    finish()


def emit_texts(url: str, ns: str, channel: str, count: str, repeat: str) -> None:
    """Emit ``count`` texts on ``channel`` ("000" repeated ``repeat`` times, then
    "001"...), then leave (which flushes)."""
    bus.connect(url, namespace=ns)
    for i in range(int(count)):
        bus.emit(channel, "%03d" % i * int(repeat))
    bus.disconnect()
    say("done")
    finish()


def answer(url: str, ns: str, channel: str, delay: str = "0") -> None:
    """Answer asks on ``channel`` with twice the number (after ``delay`` s, blocking)."""
    def double(x: int) -> int:
        say("asked", x=x)
        if float(delay):
            time.sleep(float(delay))
        return x * 2

    bus.listen(channel, double)
    bus.connect(url, namespace=ns)
    say("ready")


def wait_when(url: str, ns: str, event: str) -> None:
    """Report when ``event`` transpires (at once, for one that already did)."""
    bus.connect(url, namespace=ns)
    bus.when(event, lambda: (say("fired", at_connect=not rel.is_running()), finish()))
    say("ready")


def transpire(url: str, ns: str, event: str) -> None:
    bus.connect(url, namespace=ns)
    bus.transpire(event)
    bus.disconnect()
    say("done")
    finish()


def main() -> None:
    mode, url, ns, *args = sys.argv[1:]
    rel.timeout(120, rel.abort)
    try:
        globals()[mode](url, ns, *args)
    except Exception as exc:
        say("error", error="%s: %s" % (type(exc).__name__, exc))
        raise
    if not FINISHED:
        rel.dispatch()
    bus.disconnect()


if __name__ == "__main__":
    main()
