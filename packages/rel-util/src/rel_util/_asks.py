"""The Redis bus's request/reply: ``ask`` across processes.

An ask is a message ``["a", sender, seq, args, kwargs, reply channel, ask id]``
published on the channel; each process whose first local listener answers
publishes ``["r", sender, seq, ask id, answer]`` on the asker's reply
channel, and the asker takes the first answer that comes in (later ones are
dropped: the ask is no longer pending).

* :meth:`Asks.ask_async` never waits: the callback runs in the loop's thread
  with the answer, or with :class:`~rel_util.bus.AskTimeout` after
  ``ask_timeout`` or at once when Redis says no one heard the ask.
* :meth:`Asks.ask_sync` blocks its caller (``ask_timeout`` at most) on a
  connection of its own (redis-py's blocking client), so the loop, which may
  run in another thread, goes on meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Hashable, Optional, Tuple

import rel_core as rel
import redis

from . import bus
from ._session import ASK, PUB

if TYPE_CHECKING:  # pragma: no cover
    from .redis_bus import Link

logger = logging.getLogger("rel")


class Asks:
    """The asks of one link that wait for an answer."""

    def __init__(self, link: Link, ask_timeout: float) -> None:
        self.link = link
        self.ask_timeout = ask_timeout
        self.made = 0
        self.pending: Dict[int, Tuple[Callable[..., Any], Any]] = {}  # {ask id: (callback, timer)}
        self.sync_rname = link.reply_rname + ":sync"
        self.sync_lock = threading.Lock()
        self.sync_client: Any = None
        self.sync_pubsub: Any = None

    def ask_async(self, channel: Hashable, callback: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        link = self.link
        with link.lock:
            name = link.rname(channel)
            self.made += 1
            aid = self.made
            link.seq += 1
            data = link.encode("ask(%r)" % (channel,),
                               ["a", link.ident, link.seq, args, kwargs, link.reply_rname, aid])
            timer = rel.timeout(self.ask_timeout, self._expired, aid)
            self.pending[aid] = (callback, timer)
            link.session.submit([ASK, link.packb("PUBLISH", name, data), name, aid])

    def _expired(self, aid: int) -> None:
        with self.link.lock:
            pending = self.pending.pop(aid, None)
        if pending is not None:
            answer(pending[0], None, bus.AskTimeout(
                "rel bus: no answer within %.3g s" % (self.ask_timeout,)))

    def unheard(self, aid: int) -> None:
        """Redis says no process listens to the channel of ask ``aid``."""
        with self.link.lock:
            pending = self.pending.pop(aid, None)
        if pending is not None:
            pending[1].delete()
            answer(pending[0], None, bus.AskTimeout("rel bus: ask: no one's listening"))

    def answered(self, msg: list) -> None:
        """An ``["r", ...]`` message: the first answer to one of our asks."""
        with self.link.lock:
            pending = self.pending.pop(msg[3], None)
        if pending is not None:
            pending[1].delete()
            answer(pending[0], msg[4], None)

    def ask_sync(self, channel: Hashable, args: tuple, kwargs: dict) -> Any:
        """Publish an ask and wait (blocking, ``ask_timeout`` at most) for the first answer."""
        link = self.link
        deadline = time.monotonic() + self.ask_timeout
        name = link.rname(channel)
        with link.lock:
            self.made += 1
            aid = self.made
            data = link.encode("ask(%r)" % (channel,),
                               ["a", link.ident, 0, args, kwargs, self.sync_rname, aid])
        if link.session.state != "up":
            raise bus.AskTimeout("rel bus: ask(%r): Redis at %s is unreachable" % (channel, link.url))
        with self.sync_lock:  # its own connections: the loop and other threads go on meanwhile
            try:
                pubsub = self._sync_waiter()
                listening = self.sync_client.pubsub_numsub(name)[0][1]
            except redis.RedisError as exc:
                raise bus.AskTimeout("rel bus: ask(%r): %s" % (channel, exc)) from None
            if not listening:
                raise bus.AskTimeout("rel bus: ask(%r): no one's listening" % (channel,))
            with link.lock:
                link.seq += 1
                data = link.encode("ask(%r)" % (channel,),
                                   ["a", link.ident, link.seq, args, kwargs, self.sync_rname, aid])
                link.session.submit([PUB, link.packb("PUBLISH", name, data), name, None])
                cmd = link.session.cmd
            if cmd is not None:
                cmd.drain(deadline, lambda: True, read=False)
            found, reply = self._wait(pubsub, aid, deadline)
            if found:
                return reply
        raise bus.AskTimeout("rel bus: ask(%r): no answer within %.3g s" % (channel, self.ask_timeout))

    def _wait(self, pubsub: Any, aid: int, deadline: float) -> Tuple[bool, Any]:
        """(True, answer) once the answer to ``aid`` comes in; (False, None) at ``deadline``."""
        loads = self.link.codec.loads
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False, None
            try:
                msg = pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            except redis.RedisError:
                self.sync_pubsub = None
                return False, None
            if msg is None or msg.get("type") != "message":
                continue
            try:
                reply = loads(msg["data"])
            except Exception:
                continue
            if reply[0] == "r" and reply[3] == aid:
                return True, reply[4]

    def _sync_waiter(self) -> Any:
        if self.sync_pubsub is None:
            link = self.link
            if self.sync_client is None:
                self.sync_client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(
                    link.url, socket_connect_timeout=link.connect_timeout, protocol=2))
            pubsub = self.sync_client.pubsub()
            pubsub.subscribe(self.sync_rname)
            self.sync_pubsub = pubsub
        return self.sync_pubsub

    def close(self) -> None:
        """Every pending ask gets :class:`AskTimeout`; the blocking client is closed."""
        with self.link.lock:
            asks = list(self.pending.values())
            self.pending.clear()
            if self.sync_pubsub is not None:
                try:
                    self.sync_pubsub.close()
                except Exception:
                    pass
            if self.sync_client is not None:
                self.sync_client.close()
        for callback, timer in asks:
            timer.delete()
            answer(callback, None, bus.AskTimeout("rel bus: disconnected before an answer came"))


def answer(callback: Callable[..., Any], value: Any, error: Optional[BaseException]) -> None:
    """``callback(value, error)``; what it raises is logged, never propagated."""
    try:
        callback(value, error)
    except Exception:
        logger.exception("rel bus: ask callback %r raised", callback)
