"""The portable registrar on select(2): the one path of it that Linux's
default selector (epoll) never takes, but Windows' (select) always does."""

from __future__ import annotations

import logging
import selectors
import socket

from rel_core.selector import SelectorRegistrar


class OnSelect(SelectorRegistrar):
    selector_class = selectors.SelectSelector


def test_select_based_selector_drops_an_fd_closed_while_registered(caplog):
    reg = OnSelect()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    try:
        stale = reg.read(a, lambda: True)
        got = []

        def on_read():
            got.append(c.recv(10))
            reg.abort()

        reg.read(c, on_read)
        a.close()  # select(2) now fails as a whole with EBADF
        d.send(b"x")
        reg.timeout(10, reg.abort)  # bound: the loop would otherwise spin or hang
        with caplog.at_level(logging.WARNING, logger="rel"):
            reg.dispatch()
        assert got == [b"x"]
        assert not stale.pending()
        assert "was closed while registered" in caplog.text
    finally:
        reg.close()
        for s in (b, c, d):
            s.close()


def test_select_based_selector_reports_hangup_to_error_only_watcher():
    reg = OnSelect()
    a, b = socket.socketpair()
    try:
        fired = []
        reg.error(a, lambda: fired.append(1) or reg.abort())
        reg.timeout(10, reg.abort)
        b.close()
        reg.dispatch()
        assert fired == [1]
    finally:
        reg.close()
        a.close()
