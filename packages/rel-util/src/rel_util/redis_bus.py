"""The bus across processes: one link to a Redis server, on rel's loop.

Imported only by :func:`rel_util.bus.connect`; needs redis-py
(``pip install "rel-util[redis]"``), and uses hiredis when it is installed.

A link (one per process) is four parts, each in a module of its own:

* ``_pipe.py``: one Redis connection as a rel read watcher plus a write
  buffer; writes are never a round trip (packed by redis-py's
  ``Connection.pack_command`` or hiredis, sent once per loop pass).
* ``_session.py``: the two connections (``sub`` in pub/sub mode: the
  channels this process listens to, its reply channel, the transpire
  channel; ``cmd``: PUBLISH, SADD, SMEMBERS, PUBSUB), the replies matched in
  order with the commands written, and outages: reconnect with backoff,
  resubscribe, the bounded queue.
* ``_asks.py``: request/reply across processes.
* here: the messages themselves: what an emit, an ask, an answer and a
  transpire look like on the wire, and what a received one does.

Every message carries (sender id, sequence number); a receiver drops what
it has seen, so a command resent after an outage is delivered once.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from typing import Any, Callable, Dict, Hashable, List

import rel_core as rel
import rel_core.rel as facade
import redis

from . import _codec, bus
from ._asks import Asks
from ._session import PUB, SADD, Session

logger = logging.getLogger("rel")

#: disconnect() and process exit wait this long for Redis to take what is queued
DRAIN_TIMEOUT = 5.0
#: disconnect() from another thread waits this much longer for the loop's thread to close
HANDOFF_GRACE = 5.0

Codec = _codec.Codec


def _loop_elsewhere() -> bool:
    """Whether rel's loop runs now, in a thread other than this one."""
    registrar = facade.registrar
    owner = getattr(registrar, "_owner", None)
    return owner is not None and owner != threading.get_ident()


class Link:
    """This process's membership of a bus on one Redis server."""

    def __init__(self, url: str, ask_timeout: float, queue_limit: int, namespace: str,
                 codec: Any, connect_timeout: float) -> None:
        if ask_timeout <= 0:
            raise ValueError("ask_timeout must be positive, not %r" % (ask_timeout,))
        if queue_limit < 0:
            raise ValueError("queue_limit must be >= 0, not %r" % (queue_limit,))
        try:
            pool = redis.ConnectionPool.from_url(url, socket_connect_timeout=connect_timeout, protocol=2)
            # A query parameter redis-py does not know (a misspelt ssl_ca_certs, say)
            # or a bad ssl_cert_reqs fails only here, where a connection is made.
            pool.connection_class(**pool.connection_kwargs)
        except (ValueError, TypeError, redis.RedisError) as exc:
            raise ValueError("rel bus: bad Redis URL %r: %s" % (url, exc)) from None
        self.url = url
        self.connect_timeout = connect_timeout
        self.codec = codec
        self.ns = namespace
        self.ident = uuid.uuid4().hex[:16]
        self.reply_rname = "%s:r:%s" % (namespace, self.ident)
        self.transpire_rname = namespace + ":t"
        self.asks = Asks(self, float(ask_timeout))
        self.session = Session(pool, url, connect_timeout, int(queue_limit),
                               [self.reply_rname, self.transpire_rname], namespace + ":transpired",
                               self._messages, self._members, self.asks.unheard)
        self.lock: threading.RLock = self.session.lock
        self.packb: Callable[..., bytes] = self.session.packb
        self.seq = 0
        self.rnames: Dict[Hashable, str] = {}    # {channel: redis channel}
        self.seen: Dict[str, int] = {}           # {sender id: last sequence number delivered}
        self.pid = os.getpid()
        self.closing = threading.Lock()  # one close at a time (loop's thread, atexit, another thread)

    def open(self) -> None:
        """Connect now, blocking (``connect()``'s part): a clear error if Redis is not there."""
        self.session.open()
        atexit.register(self._at_exit)

    # -- sending -------------------------------------------------------------------------------

    def encode(self, what: str, message: Any) -> Any:
        """``message`` encoded by the codec; ``TypeError`` naming ``what`` if it cannot be."""
        try:
            return self.codec.dumps(message)
        except Exception as exc:
            raise TypeError("rel bus: cannot send %s over Redis: %s" % (what, exc)) from None

    def rname(self, channel: Hashable) -> str:
        """The Redis channel of bus channel ``channel``."""
        name = self.rnames.get(channel)
        if name is None:
            if isinstance(channel, str):
                name = "%s:c:%s" % (self.ns, channel)
            else:
                name = "%s:j:%s" % (self.ns, self.encode("channel %r" % (channel,), channel))
            self.rnames[channel] = name
        return name

    def subscribe(self, channel: Hashable) -> None:
        """Receive ``channel`` from now on (its first local listener)."""
        with self.lock:
            self.session.subscribe(self.rname(channel).encode(), channel)

    def emit(self, channel: Hashable, args: tuple, kwargs: dict) -> None:
        name = self.rnames.get(channel) or self.rname(channel)
        with self.lock:
            self.seq = seq = self.seq + 1
            try:
                data = self.codec.dumps(["e", self.ident, seq, args, kwargs])
            except Exception:
                data = self.encode("emit(%r)" % (channel,), ["e", self.ident, seq, args, kwargs])
            self.session.submit([PUB, self.packb("PUBLISH", name, data), name, None])

    def transpire(self, event: Hashable) -> None:
        with self.lock:
            member = self.encode("transpire(%r)" % (event,), event)
            self.seq += 1
            data = self.encode("transpire(%r)" % (event,), ["t", self.ident, self.seq, event])
            self.session.submit([SADD, self.packb("SADD", self.session.transpired_key, member), None, None])
            self.session.submit([PUB, self.packb("PUBLISH", self.transpire_rname, data),
                                 self.transpire_rname, None])

    def ask_async(self, channel: Hashable, callback: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self.asks.ask_async(channel, callback, args, kwargs)

    def ask_sync(self, channel: Hashable, args: tuple, kwargs: dict) -> Any:
        """Publish an ask and wait (blocking, ``ask_timeout`` at most) for the first answer."""
        return self.asks.ask_sync(channel, args, kwargs)

    # -- receiving -------------------------------------------------------------------------------

    def _messages(self, replies: List[Any]) -> None:
        loads = self.codec.loads
        seen = self.seen
        ident = self.ident
        channels = self.session.channels
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
                bus._deliver(channels.get(reply[1]), msg[3], msg[4])
            elif kind == "a":
                self._remote_ask(channels.get(reply[1]), msg)
            elif kind == "r":
                self.asks.answered(msg)
            elif kind == "t":
                self._safe_transpire(_codec.hashable(msg[3]))

    def _remote_ask(self, channel: Hashable, msg: list) -> None:
        found, answer = bus._local_answer(channel, msg[3], msg[4])
        if not found:
            return
        with self.lock:
            self.seq += 1
            try:
                data = self.encode("the answer to ask(%r)" % (channel,),
                                   ["r", self.ident, self.seq, msg[6], answer])
            except TypeError as exc:
                logger.warning("%s", exc)
                return
            self.session.submit([PUB, self.packb("PUBLISH", msg[5], data), msg[5], None])

    def _members(self, members: List[bytes]) -> None:
        """The transpired set, read at (re)connect: each event transpires here."""
        for member in members:
            try:
                event = _codec.hashable(self.codec.loads(member))
            except Exception:
                continue
            self._safe_transpire(event)

    def _safe_transpire(self, event: Hashable) -> None:
        try:
            bus._transpire_local(event)
        except Exception:
            logger.exception("rel bus: a callback waiting for %r raised", event)

    # -- closing ---------------------------------------------------------------------------------

    def close(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Send what is queued (waiting ``timeout`` at most for Redis to take
        it), then close; pending asks get :class:`AskTimeout`.

        Called from another thread while the loop runs, the closing is handed
        to the loop's thread (the link's sockets and watchers are the loop's)
        and this waits for it: ``timeout`` plus ``HANDOFF_GRACE`` at most,
        after which it logs that the loop is busy and returns, the loop
        closing the link when it gets to it."""
        if not _loop_elsewhere():
            self._close(timeout)
            return
        done = threading.Event()

        def in_loop() -> None:
            try:
                self._close(timeout)
            finally:
                done.set()

        rel.timeout(0, in_loop)  # queued for the loop's thread, which is woken
        deadline = time.monotonic() + timeout + HANDOFF_GRACE
        while not done.wait(0.02):
            if not _loop_elsewhere():  # the loop stopped before it ran: close here
                self._close(timeout)
                return
            if time.monotonic() > deadline:
                logger.warning("rel bus: disconnect: the loop's thread did not get to closing the "
                               "link within %.0f s; it closes it when it does", timeout + HANDOFF_GRACE)
                return

    def _close(self, timeout: float) -> None:
        with self.closing:
            if self.session.closed:
                return  # closed already: the loop's thread and this one both tried
            session = self.session
            if session.cmd is not None and session.state == "up" and os.getpid() == self.pid:
                if not session.drain(time.monotonic() + timeout):
                    logger.warning("rel bus: disconnect: Redis acknowledged not all of what was sent "
                                   "within %.0f s (%d commands)", timeout, len(session.inflight))
            elif session.queue:
                logger.warning("rel bus: disconnect: Redis at %s unreachable, %d queued emits not sent",
                               self.url, len(session.queue))
            session.close()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        self.asks.close()

    def _at_exit(self) -> None:
        if not self.session.closed:
            self.close()
