"""rel's own test suite, as rel 0.4.9.27 shipped one: ``python -m rel.test``.

A ``unittest`` suite, so its command line is unittest's::

    python -m rel.test
    python -m rel.test -v
    python -m rel.test -v EventTest.test_exception EventTest.test_timeout

Run at a terminal, it first offers rel 0.4.9.27's two choices: the select
registrar (with ``'verbose'`` and ``'strict'``), else verbose mode. Without a
terminal (a pipe, CI) it asks nothing and uses the default registrar.
``--registrar NAME`` (ours) picks one without asking, e.g.
``python -m rel.test --registrar poll -v``; ``rel.supported_methods`` lists
the names.

The tests have rel 0.4.9.27's names (``EventTest.test_timeout``, ...) and
check what those checked, through both of rel's interfaces: pyevent's
(``event``, installed by ``rel.override()``) and rel's own; each runs in a
second or two at most.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import unittest
from typing import Any, List, Optional

from . import rel
from .buff import buffwrite

# Never fires before its deadline; how late it may be is the loop's business,
# so the upper bounds are loose (seconds).
LATE = 2.0


class _Bound:
    """A thread that aborts a dispatch() still running after ``limit``
    seconds (a thread, not a rel timer: a timer would keep rel busy);
    ``expired`` says whether it had to."""

    def __init__(self, limit: float = 10.0) -> None:
        self.expired = False
        self._timer = threading.Timer(limit, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        self.expired = True
        rel.abort()

    def cancel(self) -> None:
        self._timer.cancel()


class EventTest(unittest.TestCase):
    """rel 0.4.9.27's ``EventTest``: each test arms watchers, dispatches until
    the loop ends by itself (or aborts), and checks what ran."""

    def skip(self, reason: str) -> None:
        """Skip the current test because of ``reason``."""
        self.skipTest(reason)

    def setUp(self) -> None:
        self.call_back_ran = False
        rel.override()  # pyevent's ``event`` module, as the original's suite used
        self.event: Any = sys.modules["event"]
        rel.init()

    def tearDown(self) -> None:
        rel.init()

    def dispatch(self) -> None:
        """``event.dispatch()``, which must end by itself (or by the test's
        own abort) within seconds."""
        bound = _Bound()
        try:
            self.event.dispatch()
        finally:
            bound.cancel()
        self.assertFalse(bound.expired, "dispatch() was still running after 10 s")

    def test_timeout(self) -> None:
        """pyevent's event with a timeout: called back once, with EV_TIMEOUT, not early."""
        seen: List[Any] = []
        secs = 0.5

        def cb(ev: Any, handle: Any, evtype: int, ts: dict) -> None:
            seen.append((time.monotonic() - ts["start"], evtype))

        ts = {"start": time.monotonic()}
        self.event.event(cb, arg=ts).add(secs)
        self.dispatch()
        self.assertEqual(len(seen), 1, "call back did not run once")
        waited, evtype = seen[0]
        self.assertEqual(evtype, self.event.EV_TIMEOUT)
        self.assertTrue(secs <= waited < secs + LATE, "timeout after %.3f s" % waited)

    def test_timeout2(self) -> None:
        """``timeout(secs, cb, *args)`` calls ``cb(*args)`` once, not early."""
        seen: List[float] = []
        secs = 0.5

        def cb(start: float, expected: float) -> None:
            seen.append(time.monotonic() - start)
            self.assertEqual(expected, secs)

        self.event.timeout(secs, cb, time.monotonic(), secs)
        self.dispatch()
        self.assertEqual(len(seen), 1, "call back did not run once")
        self.assertTrue(secs <= seen[0] < secs + LATE, "timeout2 after %.3f s" % seen[0])

    def test_timers(self) -> None:
        """Timer operations apply in order: a deleted timer re-added with a
        shorter delay fires after the new one."""
        delay = 0.4
        seen: List[float] = []
        timer = self.event.timeout(delay * 10, lambda: seen.append(time.monotonic()))
        timer.delete()
        timer.add(delay)
        start = time.monotonic()
        self.dispatch()
        self.assertEqual(len(seen), 1, "call back did not run once")
        waited = seen[0] - start
        self.assertTrue(delay - 0.05 <= waited < delay * 10, "timers: fired after %.3f s" % waited)

    def test_signal(self) -> None:
        """A pyevent signal event runs (with EV_SIGNAL) on a delivery a timer makes."""
        if not hasattr(signal, "SIGUSR1"):
            return self.skip("signal.SIGUSR1 missing (probably Windows)")
        seen: List[int] = []

        def cb(ev: Any, sig: int, evtype: int, arg: Any) -> None:
            seen.append(evtype)
            if evtype == self.event.EV_SIGNAL:
                ev.delete()
            elif evtype == self.event.EV_TIMEOUT:
                os.kill(os.getpid(), signal.SIGUSR1)

        self.event.event(cb, handle=signal.SIGUSR1, evtype=self.event.EV_SIGNAL).add()
        self.event.event(cb).add(0.2)
        self.dispatch()
        self.assertEqual(seen, [self.event.EV_TIMEOUT, self.event.EV_SIGNAL])
        return None

    def test_signal2(self) -> None:
        """``signal(sig, cb, *args)`` runs ``cb(*args)`` on a delivery."""
        if not hasattr(signal, "SIGUSR1"):
            return self.skip("signal.SIGUSR1 missing (probably Windows)")
        seen: List[Optional[int]] = []

        def cb(sig: Optional[int] = None) -> None:
            seen.append(sig)
            if sig:
                self.event.abort()
            else:
                os.kill(os.getpid(), signal.SIGUSR1)

        self.event.signal(signal.SIGUSR1, cb, signal.SIGUSR1)
        self.event.timeout(0.2, cb)
        self.dispatch()
        self.assertEqual(seen, [None, signal.SIGUSR1])
        return None

    def test_read(self) -> None:
        """A pyevent read event runs once data is there, with EV_READ."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        seen: List[Any] = []

        def cb(ev: Any, sock: Any, evtype: int, arg: Any) -> None:
            seen.append((sock.recv(1024), evtype, arg))

        self.event.event(cb, "arg", self.event.EV_READ, a).add()
        b.sendall(b"hi niels")
        self.dispatch()
        self.assertEqual(seen, [(b"hi niels", self.event.EV_READ, "arg")])

    def test_read2(self) -> None:
        """``read(sock, cb, *args)`` runs ``cb(*args)`` once data is there;
        its falsy return ends it."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        msg = b"hello world"
        seen: List[bytes] = []
        self.event.read(a, lambda sock: seen.append(sock.recv(1024)), a)
        b.sendall(msg)
        self.dispatch()
        self.assertEqual(seen, [msg])

    def test_exception(self) -> None:
        """A callback's exception comes out of dispatch()."""
        def bad(foo: str) -> None:
            raise NotImplementedError(foo)

        self.event.timeout(0, bad, "bad callback")
        with self.assertRaises(NotImplementedError):
            self.dispatch()

    def test_abort(self) -> None:
        """abort() ends dispatch() before a later timer runs."""
        def late() -> None:
            raise NotImplementedError("abort failed!")

        self.event.timeout(5, late)
        self.event.timeout(0.2, self.event.abort)
        self.dispatch()

    def test_callback_exception(self) -> None:
        """An exception a callback catches stays inside it; one it raises comes out."""
        def raises(exc: Exception) -> None:
            raise exc

        def catches(exc: Exception) -> None:
            try:
                raise exc
            except Exception:
                pass

        self.event.timeout(0, raises, KeyError("raised"))
        self.event.timeout(0, catches, ValueError("caught"))
        with self.assertRaises(KeyError):
            self.dispatch()

    def test_thread(self) -> None:
        """The loop runs its timer while another thread works (no GIL starvation)."""
        d = {"count": 0}
        seen: List[int] = []

        def work(count: int) -> None:
            for _ in range(count):
                time.sleep(0.1)
                d["count"] += 1

        worker = threading.Thread(target=work, args=(3,), daemon=True)
        worker.start()
        self.event.timeout(0.8, lambda: seen.append(d["count"]))
        self.dispatch()
        worker.join(10)
        self.assertEqual(seen, [3])

    # -- beyond rel 0.4.9.27's suite: what its users rely on ------------------------------

    def test_expiration(self) -> None:
        """``timer.expiration`` is the deadline on ``time.monotonic()``'s
        clock, and moving it moves the timer (babyweb's cron fast-forward)."""
        seen: List[float] = []
        start = time.monotonic()
        timer = rel.timeout(30, lambda: seen.append(time.monotonic() - start))
        expiration = timer.expiration
        self.assertIsNotNone(expiration)
        assert expiration is not None  # for the type checker
        self.assertTrue(start + 30 <= expiration <= time.monotonic() + 30)
        timer.expiration = expiration - 29.7
        self.dispatch()
        self.assertEqual(len(seen), 1)
        self.assertTrue(0.3 - 1e-3 <= seen[0] < 0.3 + LATE, "fired after %.3f s" % seen[0])
        self.assertIsNone(timer.expiration)

    def test_repr(self) -> None:
        """Watchers print as rel 0.4.9.27's did."""
        if hasattr(signal, "SIGUSR1"):
            sig = rel.signal(signal.SIGUSR1, rel.abort)
            self.assertEqual(repr(sig), '<Signal Object | Callback:"abort">')
            sig.delete()
        timer = rel.timeout(None, self.test_repr)
        self.assertEqual(repr(timer), '<Timer Object | Callback:"test_repr">')

    def test_write_and_buffwrite(self) -> None:
        """A write watcher runs while the socket is writable; buffwrite()
        delivers everything, in order."""
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        a.setblocking(False)  # a blocking send would wait for a reader this loop runs
        data = os.urandom(1 << 20)
        got = bytearray()

        def recv() -> bool:
            got.extend(b.recv(65536))
            if len(got) == len(data):
                rel.abort()
            return True

        rel.read(b, recv)
        buffwrite(a, data)
        self.dispatch()
        self.assertEqual(bytes(got), data)


def _choose_registrar(argv: List[str]) -> List[str]:
    """Apply ``--registrar NAME``, or ask rel 0.4.9.27's two questions at a
    terminal; return the rest of ``argv`` for unittest."""
    if "--registrar" in argv:
        i = argv.index("--registrar")
        if i + 1 >= len(argv):
            raise SystemExit("--registrar needs a name: one of %s" % (", ".join(rel.supported_methods),))
        rel.initialize([argv[i + 1]], ["strict"])
        return argv[:i] + argv[i + 2:]
    if sys.stdin.isatty() and sys.stdout.isatty():
        try:
            if input("run these tests with select registrar? (y/N)").lower().startswith("y"):
                rel.initialize(["select"], ["verbose", "strict"])
            elif input("verbose mode? (y/N)").lower().startswith("y"):
                rel.initialize(options=["verbose"])
        except EOFError:  # the terminal closed its input: no answer is a no
            pass
    return argv


def main(argv: Optional[List[str]] = None) -> None:
    """Run the suite as ``python -m rel.test [--registrar NAME] [unittest args]``."""
    args = _choose_registrar(list(sys.argv if argv is None else argv))
    unittest.main(module=__name__, argv=args)


if __name__ == "__main__":
    main()
