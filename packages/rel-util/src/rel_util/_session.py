"""The Redis bus's connection state machine: up, down (reconnecting), closed.

One :class:`Session` per link holds the two connections (``sub``: pub/sub
mode, ``cmd``: every other command; see ``_pipe.py``), the commands written
and not yet answered (``inflight``), and what waits while Redis is away
(``queue``, at most ``queue_limit``).

States: ``down`` until :meth:`Session.open` (blocking) succeeds; ``up``;
back to ``down`` when a connection is lost, where the unanswered commands go
back to the front of the queue and a background thread reconnects with
capped exponential backoff (it only opens sockets; everything else happens
in the loop's thread); ``closed`` after :meth:`Session.close`, for good.
Once up again, the channels are subscribed anew and the queue waits until
the channels it goes to have as many subscribers as heard them last (others
resubscribing, ``RESUBSCRIBE_GRACE`` at most), then goes out in order.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Hashable, Iterable, List, Optional

import rel_core as rel
from redis.exceptions import ResponseError

from ._pipe import Pipe, _packer, handshake

logger = logging.getLogger("rel")

#: reconnect backoff: first wait, cap (seconds); each failed attempt doubles it
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0
#: after an outage, how long queued emits wait for listeners to resubscribe
RESUBSCRIBE_GRACE = 5.0
RESUBSCRIBE_POLL = 0.05

# entry kinds; an entry is [kind, packed command, redis channel, extra]
PUB, ASK, SADD, MEMBERS, NUMSUB = range(5)
RESENDABLE = (PUB, ASK, SADD)


class Session:
    """Two connections to one Redis server, kept up across outages."""

    def __init__(self, pool: Any, url: str, connect_timeout: float, queue_limit: int,
                 fixed: Iterable[str], transpired_key: str,
                 on_messages: Callable[[List[Any]], None],
                 on_members: Callable[[List[bytes]], None],
                 on_unheard_ask: Callable[[Any], None]) -> None:
        self.pool = pool
        self.url = url
        self.connect_timeout = connect_timeout
        self.queue_limit = queue_limit
        self.fixed = [name.encode() for name in fixed]  # subscribed always (reply, transpire)
        self.transpired_key = transpired_key
        self.on_messages = on_messages
        self.on_members = on_members
        self.on_unheard_ask = on_unheard_ask
        self.lock = threading.RLock()
        self.packb = _packer(self.new_conn())  # never connected: packs commands while down too
        self.state = "down"
        self.closed = False
        self.cmd: Optional[Pipe] = None
        self.sub: Optional[Pipe] = None
        self.inflight: Deque[list] = deque()
        self.queue: Deque[list] = deque()
        self.dropped = 0
        self.down_since: Optional[float] = None
        self.gating = False
        self.gate_deadline = 0.0
        self.channels: Dict[bytes, Hashable] = {}  # {redis channel (bytes): channel}, the subscribed ones
        self.heard: Dict[str, int] = {}          # {redis channel: receivers of its last publish}

    def new_conn(self) -> Any:
        return self.pool.connection_class(**self.pool.connection_kwargs)

    # -- opening ---------------------------------------------------------------------------

    def open(self) -> None:
        """Connect now, blocking (``connect()``'s part): a clear error if Redis is not there."""
        try:
            opened = self._open()
        except Exception as exc:
            raise ConnectionError("rel bus: cannot connect to Redis at %s: %s" % (self.url, exc)) from None
        self._up(opened)

    def _open(self) -> tuple:
        """Both connections opened and subscribed, and the transpired set: blocking,
        in the caller's thread (connect) or the reconnect thread."""
        with self.lock:
            names = self.fixed + list(self.channels)
        deadline = time.monotonic() + max(self.connect_timeout, 1.0)
        return handshake(self.new_conn, names, self.transpired_key, deadline)

    def _up(self, opened: tuple) -> None:
        """Take the opened connections into the loop (the loop's thread)."""
        sub, sub_reader, early, cmd, cmd_reader, members, names = opened
        with self.lock:
            if self.closed:
                sub.disconnect()
                cmd.disconnect()
                return
            self.sub = Pipe(sub, sub_reader, self.on_messages, self._lost, self.lock)
            self.cmd = Pipe(cmd, cmd_reader, self._cmd_replies, self._lost, self.lock)
            self.cmd.peer = self.sub
            self.state = "up"
            missing = [n for n in self.channels if n not in names]
            if missing:
                self.sub.write(self.packb("SUBSCRIBE", *missing))
            outage = self.down_since
            if outage is not None:
                logger.warning("rel bus: Redis at %s is back after %.1f s; %d emits queued to send%s",
                               self.url, time.monotonic() - outage, len(self.queue),
                               ", %d dropped (queue full)" % self.dropped if self.dropped else "")
                self.down_since = None
                self.dropped = 0
            if self.queue:
                self.gating = True
                self.gate_deadline = time.monotonic() + RESUBSCRIBE_GRACE
                self._gate_check()
        if early:
            self.on_messages(early)
        self.on_members(members or [])

    # -- outages -----------------------------------------------------------------------------

    def _lost(self, reason: str) -> None:
        with self.lock:
            if self.state != "up" or self.closed:
                return
            self.state = "down"
            self.gating = False
            self.down_since = time.monotonic()
            self._close_pipes()
            # What Redis did not acknowledge goes out again (receivers drop duplicates).
            back = [e for e in self.inflight if e[0] in RESENDABLE]
            self.inflight.clear()
            self.queue.extendleft(reversed(back))
            while len(self.queue) > self.queue_limit:
                self.queue.pop()
                self.dropped += 1
            logger.warning("rel bus: lost Redis at %s (%s); reconnecting, keeping up to %d emits meanwhile",
                           self.url, reason, self.queue_limit)
        threading.Thread(target=self._reconnect, name="rel-bus-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        delay = BACKOFF_MIN
        while not self.closed:
            time.sleep(delay * (0.5 + random.random()))
            if self.closed:
                return
            try:
                opened = self._open()
            except Exception:
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            rel.timeout(0, self._up, opened)
            return

    def _gate_check(self) -> None:
        """Hold the queue until its channels have their listeners back (lock held or in loop)."""
        with self.lock:
            if not self.gating or self.state != "up":
                return
            needed = {e[2]: self.heard[e[2]] for e in self.queue if self.heard.get(e[2])}
            if not needed or time.monotonic() > self.gate_deadline:
                self._release()
                return
            assert self.cmd is not None
            self.inflight.append([NUMSUB, b"", None, needed])
            self.cmd.write(self.packb("PUBSUB", "NUMSUB", *needed))

    def _release(self) -> None:
        self.gating = False
        cmd = self.cmd
        assert cmd is not None
        while self.queue:
            entry = self.queue.popleft()
            self.inflight.append(entry)
            cmd.write(entry[1])

    # -- sending -------------------------------------------------------------------------------

    def submit(self, entry: list) -> None:
        """Send ``entry``, or queue it while Redis is away (lock held)."""
        if self.state == "up" and not self.gating:
            self.inflight.append(entry)
            self.cmd.write(entry[1])  # type: ignore[union-attr]
        elif len(self.queue) < self.queue_limit:
            self.queue.append(entry)
        else:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning("rel bus: Redis unreachable and %d emits queued: %d dropped so far",
                               self.queue_limit, self.dropped)

    def subscribe(self, key: bytes, channel: Hashable) -> None:
        """Receive the redis channel ``key`` from now on, as ``channel``."""
        with self.lock:
            if self.state == "up":
                self.cmd.rearm()  # type: ignore[union-attr]
            if key in self.channels:
                return
            self.channels[key] = channel
            if self.state == "up":
                self.sub.write(self.packb("SUBSCRIBE", key))  # type: ignore[union-attr]

    def _cmd_replies(self, replies: List[Any]) -> None:
        unheard = []
        with self.lock:
            inflight = self.inflight
            for reply in replies:
                if not inflight:
                    break
                entry = inflight.popleft()
                kind = entry[0]
                if isinstance(reply, ResponseError):
                    logger.warning("rel bus: Redis refused a command: %s", reply)
                elif kind == PUB or kind == ASK:
                    self.heard[entry[2]] = reply
                    if not reply and kind == ASK:
                        unheard.append(entry[3])
                elif kind == NUMSUB:
                    counts = dict(zip(reply[::2], reply[1::2]))
                    if all(counts.get(k.encode(), 0) >= n for k, n in entry[3].items()):
                        self._release()
                    else:
                        rel.timeout(RESUBSCRIBE_POLL, self._gate_check)
        for aid in unheard:
            self.on_unheard_ask(aid)

    # -- closing ---------------------------------------------------------------------------------

    def drain(self, deadline: float) -> bool:
        """Blocking: send what is written, read replies until Redis answered
        them all or ``deadline``; True if it did."""
        cmd = self.cmd
        return cmd is not None and cmd.drain(deadline, lambda: not self.inflight)

    def _close_pipes(self) -> None:
        for pipe in (self.cmd, self.sub):
            if pipe is not None:
                pipe.close()
        self.cmd = self.sub = None

    def close(self) -> None:
        """Close both connections for good (what is not sent stays unsent)."""
        with self.lock:
            self.closed = True
            self._close_pipes()
            self.state = "closed"
