"""The bus across processes: one link to a Redis server, on rel's loop.

Imported only by :func:`rel_util.bus.connect`; needs redis-py
(``pip install "rel-util[redis]"``), and uses hiredis when it is installed.

Shape of a link (one per process):

* two Redis connections, each a rel read watcher: ``sub`` is in pub/sub mode
  (the channels this process listens to, its reply channel, the transpire
  channel); ``cmd`` carries every command (PUBLISH, SADD, SMEMBERS, PUBSUB).
* writes are never a round trip: a command is packed by redis-py's
  ``Connection.pack_command`` and appended to the connection's buffer; a
  zero-delay rel timer sends the whole buffer once per loop pass (a burst of
  emits costs one ``send``), a write watcher takes over if the kernel is full.
  Outside ``dispatch()`` the buffer is sent at once.
* replies are read as they come (redis-py's parser or hiredis, see
  ``_resp.py``) and matched in order with ``inflight``, the commands written
  and not yet answered.
* every message carries (sender id, sequence number); a receiver drops what
  it has seen, so a command resent after an outage is delivered once.

Faults: a connection lost (or the server gone) moves the link to ``down``:
the unanswered commands go back to the front of ``queue``, new ones queue
behind them up to ``queue_limit``, and a background thread reconnects with
capped exponential backoff (it only opens sockets; everything else happens in
the loop's thread). Once up again, queued emits wait until the channels they
go to have as many subscribers as heard them last (others resubscribing,
``RESUBSCRIBE_GRACE`` at most), then go out in order.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import random
import threading
import time
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, Hashable, List, Optional, Tuple

import rel_core as rel
import redis
from redis.exceptions import ResponseError

from . import _resp, bus
from ._pipe import Pipe, _packer

logger = logging.getLogger("rel")

#: reconnect backoff: first wait, cap (seconds); each failed attempt doubles it
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0
#: after an outage, how long queued emits wait for listeners to resubscribe
RESUBSCRIBE_GRACE = 5.0
RESUBSCRIBE_POLL = 0.05
#: disconnect() and process exit wait this long for Redis to take what is queued
DRAIN_TIMEOUT = 5.0

# entry kinds; an entry is [kind, packed command, redis channel, extra]
PUB, ASK, SADD, MEMBERS, NUMSUB = range(5)
RESENDABLE = (PUB, ASK, SADD)


class Codec:
    """JSON, compact: what goes on the wire unless ``connect(codec=...)`` says otherwise."""

    dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    loads = staticmethod(json.loads)


def _hashable(value: Any) -> Any:
    """Decoded JSON made usable as a dict key (lists become tuples)."""
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


class Link:
    """This process's membership of a bus on one Redis server."""

    def __init__(self, url: str, ask_timeout: float, queue_limit: int, namespace: str,
                 codec: Any, connect_timeout: float) -> None:
        if ask_timeout <= 0:
            raise ValueError("ask_timeout must be positive, not %r" % (ask_timeout,))
        if queue_limit < 0:
            raise ValueError("queue_limit must be >= 0, not %r" % (queue_limit,))
        try:
            self.pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=connect_timeout, protocol=2)
        except ValueError as exc:
            raise ValueError("rel bus: bad Redis URL %r: %s" % (url, exc)) from None
        self.url = url
        self.ask_timeout = float(ask_timeout)
        self.queue_limit = int(queue_limit)
        self.connect_timeout = connect_timeout
        self.codec = codec
        self.ns = namespace
        self.ident = uuid.uuid4().hex[:16]
        self.reply_rname = "%s:r:%s" % (namespace, self.ident)
        self.sync_rname = self.reply_rname + ":sync"
        self.transpire_rname = namespace + ":t"
        self.transpired_key = namespace + ":transpired"
        self.lock = threading.RLock()
        self.packer = self._new_conn()  # never connected: packs commands while down too
        self.pack = self.packer.pack_command
        self.packb = _packer(self.packer)
        self.seq = 0
        self.asks_made = 0
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
        self.rnames: Dict[Hashable, str] = {}    # {channel: redis channel}
        self.channels: Dict[bytes, Hashable] = {}  # {redis channel (bytes): channel}, the subscribed ones
        self.heard: Dict[str, int] = {}          # {redis channel: receivers of its last publish}
        self.seen: Dict[str, int] = {}           # {sender id: last sequence number delivered}
        self.asks: Dict[int, Tuple[Callable[..., Any], Any]] = {}  # {ask id: (callback, timer)}
        self.sync_lock = threading.Lock()
        self.sync_client: Any = None
        self.sync_pubsub: Any = None
        self.pid = os.getpid()

    # -- opening ---------------------------------------------------------------------------

    def _new_conn(self) -> Any:
        return self.pool.connection_class(**self.pool.connection_kwargs)

    def open(self) -> None:
        """Connect now, blocking (``connect()``'s part): a clear error if Redis is not there."""
        try:
            opened = self._open()
        except Exception as exc:
            raise ConnectionError("rel bus: cannot connect to Redis at %s: %s" % (self.url, exc)) from None
        self._up(opened)
        atexit.register(self._at_exit)

    def _open(self) -> tuple:
        """Open both connections, subscribe, read the transpired set: blocking,
        in the caller's thread (connect) or the reconnect thread."""
        with self.lock:
            names = [self.reply_rname.encode(), self.transpire_rname.encode()] + list(self.channels)
        deadline = time.monotonic() + max(self.connect_timeout, 1.0)
        sub = self._new_conn()
        cmd = self._new_conn()
        try:
            sub.connect()
            cmd.connect()
            sub_reader = _resp.Reader()
            sub._sock.sendall(b"".join(sub.pack_command("SUBSCRIBE", *names)))
            early = []
            confirmed = 0
            while confirmed < len(names):
                reply = _resp.read_blocking(sub._sock, sub_reader, deadline)
                if isinstance(reply, ResponseError):
                    raise reply
                if reply[0] == b"subscribe":
                    confirmed += 1
                else:
                    early.append(reply)
            # Subscribed to the transpire channel before reading the set: an
            # event transpired meanwhile arrives one way or the other.
            cmd_reader = _resp.Reader()
            cmd._sock.sendall(b"".join(cmd.pack_command("SMEMBERS", self.transpired_key)))
            members = _resp.read_blocking(cmd._sock, cmd_reader, deadline)
            if isinstance(members, ResponseError):
                raise members
        except BaseException:
            sub.disconnect()
            cmd.disconnect()
            raise
        return sub, sub_reader, early, cmd, cmd_reader, members, set(names)

    def _up(self, opened: tuple) -> None:
        """Take the opened connections into the loop (the loop's thread)."""
        sub, sub_reader, early, cmd, cmd_reader, members, names = opened
        with self.lock:
            if self.closed:
                sub.disconnect()
                cmd.disconnect()
                return
            self.sub = Pipe(sub, sub_reader, self._messages, self._lost, self.lock)
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
            self._messages(early)
        for member in members or ():
            self._remote_transpire(member)

    # -- outages -----------------------------------------------------------------------------

    def _lost(self, reason: str) -> None:
        with self.lock:
            if self.state != "up" or self.closed:
                return
            self.state = "down"
            self.gating = False
            self.down_since = time.monotonic()
            for pipe in (self.cmd, self.sub):
                if pipe is not None:
                    pipe.close()
            self.cmd = self.sub = None
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

    def _submit(self, entry: list) -> None:
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

    def _encode(self, what: str, message: Any) -> Any:
        try:
            return self.codec.dumps(message)
        except Exception as exc:
            raise TypeError("rel bus: cannot send %s over Redis: %s" % (what, exc)) from None

    def rname(self, channel: Hashable) -> str:
        name = self.rnames.get(channel)
        if name is None:
            if isinstance(channel, str):
                name = "%s:c:%s" % (self.ns, channel)
            else:
                name = "%s:j:%s" % (self.ns, self._encode("channel %r" % (channel,), channel))
            self.rnames[channel] = name
        return name

    def subscribe(self, channel: Hashable) -> None:
        """Receive ``channel`` from now on (its first local listener)."""
        with self.lock:
            name = self.rname(channel)
            key = name.encode()
            if self.state == "up":
                self.cmd.rearm()  # type: ignore[union-attr]
            if key in self.channels:
                return
            self.channels[key] = channel
            if self.state == "up":
                self.sub.write(self.packb("SUBSCRIBE", name))  # type: ignore[union-attr]

    def emit(self, channel: Hashable, args: tuple, kwargs: dict) -> None:
        name = self.rnames.get(channel) or self.rname(channel)
        with self.lock:
            self.seq = seq = self.seq + 1
            try:
                data = self.codec.dumps(["e", self.ident, seq, args, kwargs])
            except Exception:
                data = self._encode("emit(%r)" % (channel,), ["e", self.ident, seq, args, kwargs])
            self._submit([PUB, self.packb("PUBLISH", name, data), name, None])

    def transpire(self, event: Hashable) -> None:
        with self.lock:
            member = self._encode("transpire(%r)" % (event,), event)
            self.seq += 1
            data = self._encode("transpire(%r)" % (event,), ["t", self.ident, self.seq, event])
            self._submit([SADD, self.packb("SADD", self.transpired_key, member), None, None])
            self._submit([PUB, self.packb("PUBLISH", self.transpire_rname, data),
                          self.transpire_rname, None])

    def ask_async(self, channel: Hashable, callback: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        with self.lock:
            name = self.rname(channel)
            self.asks_made += 1
            aid = self.asks_made
            self.seq += 1
            data = self._encode("ask(%r)" % (channel,),
                                ["a", self.ident, self.seq, args, kwargs, self.reply_rname, aid])
            timer = rel.timeout(self.ask_timeout, self._ask_expired, aid)
            self.asks[aid] = (callback, timer)
            self._submit([ASK, self.packb("PUBLISH", name, data), name, aid])

    def _ask_expired(self, aid: int) -> None:
        with self.lock:
            pending = self.asks.pop(aid, None)
        if pending is not None:
            self._answer(pending[0], None, bus.AskTimeout(
                "rel bus: no answer within %.3g s" % (self.ask_timeout,)))

    def _answer(self, callback: Callable[..., Any], answer: Any, error: Optional[BaseException]) -> None:
        try:
            callback(answer, error)
        except Exception:
            logger.exception("rel bus: ask callback %r raised", callback)

    def ask_sync(self, channel: Hashable, args: tuple, kwargs: dict) -> Any:
        """Publish an ask and wait (blocking, ``ask_timeout`` at most) for the first answer."""
        deadline = time.monotonic() + self.ask_timeout
        name = self.rname(channel)
        with self.lock:
            self.asks_made += 1
            aid = self.asks_made
            data = self._encode("ask(%r)" % (channel,),
                                ["a", self.ident, 0, args, kwargs, self.sync_rname, aid])
        if self.state != "up":
            raise bus.AskTimeout("rel bus: ask(%r): Redis at %s is unreachable" % (channel, self.url))
        with self.sync_lock:  # its own connections: the loop and other threads go on meanwhile
            try:
                pubsub = self._sync_waiter()
                listening = self.sync_client.pubsub_numsub(name)[0][1]
            except redis.RedisError as exc:
                raise bus.AskTimeout("rel bus: ask(%r): %s" % (channel, exc)) from None
            if not listening:
                raise bus.AskTimeout("rel bus: ask(%r): no one's listening" % (channel,))
            with self.lock:
                self.seq += 1
                data = self._encode("ask(%r)" % (channel,),
                                    ["a", self.ident, self.seq, args, kwargs, self.sync_rname, aid])
                self._submit([PUB, self.packb("PUBLISH", name, data), name, None])
                cmd = self.cmd
            if cmd is not None:
                cmd.drain(deadline, lambda: True, read=False)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
                except redis.RedisError:
                    self.sync_pubsub = None
                    break
                if msg is None or msg.get("type") != "message":
                    continue
                try:
                    reply = self.codec.loads(msg["data"])
                except Exception:
                    continue
                if reply[0] == "r" and reply[3] == aid:
                    return reply[4]
        raise bus.AskTimeout("rel bus: ask(%r): no answer within %.3g s" % (channel, self.ask_timeout))

    def _sync_waiter(self) -> Any:
        if self.sync_pubsub is None:
            if self.sync_client is None:
                self.sync_client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(
                    self.url, socket_connect_timeout=self.connect_timeout, protocol=2))
            pubsub = self.sync_client.pubsub()
            pubsub.subscribe(self.sync_rname)
            self.sync_pubsub = pubsub
        return self.sync_pubsub

    # -- receiving -------------------------------------------------------------------------------

    def _cmd_replies(self, replies: List[Any]) -> None:
        later = []
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
                        pending = self.asks.pop(entry[3], None)
                        if pending is not None:
                            pending[1].delete()
                            later.append(pending[0])
                elif kind == NUMSUB:
                    counts = dict(zip(reply[::2], reply[1::2]))
                    if all(counts.get(k.encode(), 0) >= n for k, n in entry[3].items()):
                        self._release()
                    else:
                        rel.timeout(RESUBSCRIBE_POLL, self._gate_check)
        for callback in later:
            self._answer(callback, None, bus.AskTimeout("rel bus: ask: no one's listening"))

    def _messages(self, replies: List[Any]) -> None:
        loads = self.codec.loads
        seen = self.seen
        ident = self.ident
        for reply in replies:
            if reply[0] != b"message":
                continue
            try:
                msg = loads(reply[2])
                sender = msg[1]
                seq = msg[2]
            except Exception:
                logger.warning("rel bus: dropped a message on %r that is not the bus's", reply[1])
                continue
            if sender == ident:
                continue  # our own emit: the local listeners had it at once
            last = seen.get(sender)
            if last is not None and seq <= last:
                continue  # resent after an outage, already delivered
            seen[sender] = seq
            kind = msg[0]
            if kind == "e":
                bus._deliver(self.channels.get(reply[1]), msg[3], msg[4])
            elif kind == "a":
                self._remote_ask(self.channels.get(reply[1]), msg)
            elif kind == "r":
                with self.lock:
                    pending = self.asks.pop(msg[3], None)
                if pending is not None:
                    pending[1].delete()
                    self._answer(pending[0], msg[4], None)
            elif kind == "t":
                self._safe_transpire(_hashable(msg[3]))

    def _remote_ask(self, channel: Hashable, msg: list) -> None:
        found, answer = bus._local_answer(channel, msg[3], msg[4])
        if not found:
            return
        with self.lock:
            self.seq += 1
            try:
                data = self._encode("the answer to ask(%r)" % (channel,),
                                    ["r", self.ident, self.seq, msg[6], answer])
            except TypeError as exc:
                logger.warning("%s", exc)
                return
            self._submit([PUB, self.packb("PUBLISH", msg[5], data), msg[5], None])

    def _remote_transpire(self, member: bytes) -> None:
        try:
            event = _hashable(self.codec.loads(member))
        except Exception:
            return
        self._safe_transpire(event)

    def _safe_transpire(self, event: Hashable) -> None:
        try:
            bus._transpire_local(event)
        except Exception:
            logger.exception("rel bus: a callback waiting for %r raised", event)

    # -- closing ---------------------------------------------------------------------------------

    def close(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Send what is queued (waiting ``timeout`` at most for Redis to take
        it), then close; pending asks get :class:`AskTimeout`."""
        cmd = self.cmd
        if cmd is not None and self.state == "up" and os.getpid() == self.pid:
            if not cmd.drain(time.monotonic() + timeout, lambda: not self.inflight):
                logger.warning("rel bus: disconnect: Redis acknowledged not all of what was sent "
                               "within %.0f s (%d commands)", timeout, len(self.inflight))
        elif self.queue:
            logger.warning("rel bus: disconnect: Redis at %s unreachable, %d queued emits not sent",
                           self.url, len(self.queue))
        with self.lock:
            self.closed = True
            for pipe in (self.cmd, self.sub):
                if pipe is not None:
                    pipe.close()
            self.cmd = self.sub = None
            self.state = "closed"
            asks = list(self.asks.values())
            self.asks.clear()
            if self.sync_pubsub is not None:
                try:
                    self.sync_pubsub.close()
                except Exception:
                    pass
            if self.sync_client is not None:
                self.sync_client.close()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        for callback, timer in asks:
            timer.delete()
            self._answer(callback, None, bus.AskTimeout("rel bus: disconnected before an answer came"))

    def _at_exit(self) -> None:
        if not self.closed:
            self.close()
