"""The kqueue and devpoll doubles behave as the kernel interfaces they stand
for (the registrars' tests are only as good as this)."""

from __future__ import annotations

import errno
import os
import select
import time
from typing import Any, Iterator

import pytest
from conftest import socketpair
from doubles import (
    KQ_EV_ADD, KQ_EV_CLEAR, KQ_EV_DELETE, KQ_EV_EOF, KQ_EV_ERROR, KQ_EV_ONESHOT, KQ_FILTER_READ,
    KQ_FILTER_WRITE, devpoll, kevent, kqueue,
)


@pytest.fixture
def kq() -> Iterator[kqueue]:
    k = kqueue()
    yield k
    k.close()


@pytest.fixture
def pair() -> Iterator[Any]:
    a, b = socketpair()
    yield a, b
    a.close(), b.close()


def test_kevent_defaults_and_fileno(pair: Any) -> None:
    a, _ = pair
    ev = kevent(a)
    assert (ev.ident, ev.filter, ev.flags, ev.fflags, ev.data, ev.udata) == (
        a.fileno(), KQ_FILTER_READ, KQ_EV_ADD, 0, 0, 0)
    assert ev == kevent(a.fileno())


def test_level_triggered_read_with_data_count(kq: kqueue, pair: Any) -> None:
    a, b = pair
    kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_ADD)], 0)
    assert kq.control(None, 4, 0) == []
    b.send(b"abc")
    for _ in range(2):  # level: reported until read
        (ev,) = kq.control(None, 4, 1)
        assert (ev.ident, ev.filter, ev.data, ev.flags & KQ_EV_EOF) == (a.fileno(), KQ_FILTER_READ, 3, 0)


def test_clear_is_edge_triggered_and_kept_on_re_add(kq: kqueue, pair: Any) -> None:
    a, b = pair
    kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_ADD | KQ_EV_CLEAR)], 0)
    b.send(b"x")
    assert len(kq.control(None, 4, 1)) == 1
    assert kq.control(None, 4, 0) == []
    kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_ADD)], 0)  # re-adding cannot drop EV_CLEAR
    b.send(b"y")
    assert len(kq.control(None, 4, 1)) == 1
    assert kq.control(None, 4, 0) == []


def test_oneshot(kq: kqueue, pair: Any) -> None:
    a, b = pair
    kq.control([kevent(a, KQ_FILTER_WRITE, KQ_EV_ADD | KQ_EV_ONESHOT)], 0)
    assert len(kq.control(None, 4, 1)) == 1
    assert kq.control(None, 4, 0) == []
    with pytest.raises(OSError) as info:
        kq.control([kevent(a, KQ_FILTER_WRITE, KQ_EV_DELETE)], 0)
    assert info.value.errno == errno.ENOENT


def test_eof_on_both_filters_at_hangup(kq: kqueue, pair: Any) -> None:
    a, b = pair
    kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_ADD), kevent(a, KQ_FILTER_WRITE, KQ_EV_ADD)], 0)
    b.close()
    evs = kq.control(None, 4, 1)
    assert {(ev.filter, bool(ev.flags & KQ_EV_EOF)) for ev in evs} == {
        (KQ_FILTER_READ, True), (KQ_FILTER_WRITE, True)}


def test_change_errors(kq: kqueue, pair: Any) -> None:
    a, _ = pair
    with pytest.raises(OSError) as info:
        kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_DELETE)], 0)
    assert info.value.errno == errno.ENOENT
    # with room in the event list: reported as EV_ERROR, and no wait
    t0 = time.monotonic()
    (ev,) = kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_DELETE)], 1, 5)
    assert ev.flags & KQ_EV_ERROR and ev.data == errno.ENOENT and time.monotonic() - t0 < 1
    r, w = os.pipe()
    os.close(r), os.close(w)
    with pytest.raises(OSError) as info:
        kq.control([kevent(r, KQ_FILTER_READ, KQ_EV_ADD)], 0)
    assert info.value.errno == errno.EBADF


def test_close_forgets_knotes(kq: kqueue) -> None:
    a, b = socketpair()
    kq.control([kevent(a, KQ_FILTER_READ, KQ_EV_ADD)], 0)
    fd = a.fileno()
    a.close()
    b.close()
    assert kq.control(None, 4, 0.05) == []
    with pytest.raises(OSError) as info:
        kq.control([kevent(fd, KQ_FILTER_READ, KQ_EV_DELETE)], 0)
    assert info.value.errno == errno.EBADF


def test_timeout_is_honoured(kq: kqueue) -> None:
    t0 = time.monotonic()
    assert kq.control(None, 4, 0.05) == []
    assert time.monotonic() - t0 >= 0.05
    with pytest.raises(ValueError):
        kq.control(None, -1, 0)
    kq.close()
    assert kq.closed
    with pytest.raises(ValueError):
        kq.control(None, 1, 0)


def test_devpoll_semantics(pair: Any) -> None:
    a, b = pair
    dp = devpoll()
    try:
        dp.register(a, select.POLLIN)
        dp.register(a, select.POLLOUT)  # ORed
        assert dp.poll(100) == [(a.fileno(), select.POLLOUT)]
        dp.modify(a, select.POLLIN)  # replaced
        assert dp.poll(0) == []
        b.send(b"x")
        assert dp.poll(100) == [(a.fileno(), select.POLLIN)]
        dp.unregister(a)
        dp.unregister(12345)  # never registered: ignored
        assert dp.poll(0) == []
        r, w = os.pipe()
        dp.register(r, select.POLLIN)
        os.close(r), os.close(w)
        assert dp.poll(0) == [(r, select.POLLNVAL)]
        assert isinstance(dp.fileno(), int)
    finally:
        dp.close()
    assert dp.closed
    with pytest.raises(ValueError):
        dp.poll(0)
