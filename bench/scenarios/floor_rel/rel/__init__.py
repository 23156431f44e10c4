"""The floor of an engine with rel's API: the dez bench's yardstick, not an engine.

Put on a dez server's ``sys.path`` ahead of everything (dezhttp.py does, for
the contender ``floor``), this is the ``rel`` that dez imports. It has just
what dez's HTTP server calls (``read``, ``write``, ``error``, ``timeout``,
``signal``, ``dispatch``, ``abort``, ``initialize``, ``util.log``; ``add``,
``delete``, ``dereference`` and ``pending`` on what they return) and keeps
the rules dez relies on: a falsy return disarms a watcher and a truthy one
re-arms a timer, unless the callback armed or disarmed it itself; and a heap
that stays small while dez deletes a 600-second timer at every request. It
keeps nothing else a loop owes its users (no threads, no exceptions handled,
no closed fds found, no timer order within a deadline, no signal wake-up): a
bare ``select.epoll``, a dict of fds and a heap of timers. So its rate is the
cost of dez and of the system calls alone, the ceiling of an engine with
rel's API serving dez on this machine at that moment.
"""

import heapq
import itertools
import select
import signal as _signal
import time

from . import util  # noqa: F401  (dez calls rel.util.log after a plain import rel)

supported_methods = ["epoll"]

_WANT = (select.EPOLLIN, select.EPOLLOUT, select.EPOLLRDHUP)  # by kind; ERR and HUP need no asking
_ERRHUP = select.EPOLLERR | select.EPOLLHUP
_READY_R = select.EPOLLIN | _ERRHUP
_READY_W = select.EPOLLOUT | _ERRHUP
_READY_E = select.EPOLLRDHUP | _ERRHUP

_epoll = select.epoll()
_io = {}  # {fd: [reader, writer, error watcher]}
_mask = {}  # {fd: mask given to epoll}: the OR of its watchers' wants
_heap = []  # [(deadline, seq, timer)]; an entry whose seq is not its timer's is stale
_stale = 0  # stale entries in the heap
_seq = itertools.count()
_running = False


class _IO:
    __slots__ = ("fd", "kind", "want", "cb", "args", "active", "gen")

    def __init__(self, kind, sock, cb, args):
        self.fd = sock if isinstance(sock, int) else sock.fileno()
        self.kind, self.want, self.cb, self.args = kind, _WANT[kind], cb, args
        self.active, self.gen = False, 0
        self.add()

    def add(self, delay=None):
        self.gen += 1
        if not self.active:
            self.active = True
            fd = self.fd
            slot = _io.get(fd)
            if slot is None:
                slot = _io[fd] = [None, None, None]
                _epoll.register(fd, self.want)
                _mask[fd] = self.want
            else:
                _mask[fd] = mask = _mask[fd] | self.want
                _epoll.modify(fd, mask)
            slot[self.kind] = self

    def delete(self):
        self.gen += 1
        if self.active:
            self.active = False
            fd = self.fd
            _io[fd][self.kind] = None
            mask = _mask[fd] & ~self.want
            if mask:
                _mask[fd] = mask
                _epoll.modify(fd, mask)
            else:
                del _io[fd], _mask[fd]
                try:
                    _epoll.unregister(fd)
                except OSError:
                    pass  # closed: epoll forgot it already

    dereference = delete

    def pending(self):
        return self.active


def _went_stale():
    # dez deletes a 600-second timer at every request: without a sweep, the
    # heap would grow by its entries for ten minutes.
    global _stale
    _stale += 1
    if _stale > 100 and 2 * _stale > len(_heap):
        _heap[:] = [e for e in _heap if e[2].seq == e[1]]
        heapq.heapify(_heap)
        _stale = 0


class _Timer:
    __slots__ = ("cb", "args", "delay", "seq", "gen")

    def __init__(self, delay, cb, args):
        self.cb, self.args, self.delay, self.seq, self.gen = cb, args, delay, None, 0
        if delay is not None:
            self.add(delay)

    def add(self, delay=None):
        if delay is not None:
            self.delay = delay
        self.gen += 1
        if self.seq is not None:
            _went_stale()
        self.seq = seq = next(_seq)
        heapq.heappush(_heap, (time.monotonic() + self.delay, seq, self))

    def delete(self, dereference=False):
        self.gen += 1
        if self.seq is not None:
            self.seq = None
            _went_stale()

    def pending(self):
        return self.seq is not None


def read(sock, cb, *args):
    return _IO(0, sock, cb, args)


def write(sock, cb, *args):
    return _IO(1, sock, cb, args)


def error(sock, cb, *args):
    return _IO(2, sock, cb, args)


def timeout(delay, cb, *args):
    return _Timer(delay, cb, args)


def signal(sig, cb, *args):
    _signal.signal(sig, lambda signum, frame: cb(*args))


def initialize(methods=None, options=()):
    return "epoll"


def abort():
    global _running
    _running = False


_KINDS_OF = {}  # {epoll bits: the kinds they make ready}, filled as bits are met


def _kinds(bits):
    kinds = _KINDS_OF[bits] = tuple(kind for kind, ready in enumerate((_READY_R, _READY_W, _READY_E))
                                    if bits & ready)
    return kinds


def dispatch():
    global _running, _stale
    _running = True
    poll, io, heap, heappop, clock = _epoll.poll, _io, _heap, heapq.heappop, time.monotonic
    kinds_of = _KINDS_OF
    while _running:
        while heap and heap[0][2].seq != heap[0][1]:
            heappop(heap)
            _stale -= 1
        if heap:
            timeout = heap[0][0] - clock()
            if timeout < 0.0:
                timeout = 0.0
        else:
            timeout = -1
        for fd, bits in poll(timeout):
            slot = io.get(fd)
            if slot is None:
                continue
            for kind in kinds_of.get(bits) or _kinds(bits):
                w = slot[kind]
                if w is not None and w.active:
                    gen = w.gen
                    if not w.cb(*w.args) and w.gen == gen and w.active:
                        w.delete()
        now = clock()
        while heap and heap[0][0] <= now:
            _, seq, t = heappop(heap)
            if t.seq == seq:
                t.seq = None
                gen = t.gen
                if t.cb(*t.args) and t.gen == gen:
                    t.add()
            else:
                _stale -= 1
