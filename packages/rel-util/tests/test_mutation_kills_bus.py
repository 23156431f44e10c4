"""The bus's in-process paths that only the Redis tests used to reach (see
tests/mutation/): ask_async without a link, and the two functions the
Redis link calls for other processes' messages, which need no server to
run: they only hand a message to this process's listeners."""

from __future__ import annotations

import inspect
import logging
from typing import Any, List

import pytest
from rel_util import bus
from rel_util.bus import ask_async, listen, loudListen


@pytest.fixture(autouse=True)
def clean_bus():
    bus.listeners.clear()
    loudListen(True)
    yield
    bus.listeners.clear()


def test_ask_async_gets_the_first_listeners_answer_at_once():
    got: List[Any] = []
    listen("ch", lambda x: x * 2)
    listen("ch", lambda x: "second")
    ask_async("ch", lambda answer, err: got.append((answer, err)), 21)
    assert got == [(42, None)]  # before ask_async returned


def test_ask_async_with_nobody_listening_and_no_link_answers_none():
    assert not bus.connected()
    got: List[Any] = []
    ask_async("nobody", lambda answer, err: got.append((answer, err)))
    assert got == [(None, None)]


def test_ask_async_rejects_a_non_callable():
    with pytest.raises(TypeError):
        ask_async("ch", "not callable")


def test_another_processs_emit_reaches_every_listener_and_raises_nothing(caplog):
    calls: List[Any] = []

    def broken(*args: Any, **kwargs: Any) -> None:
        calls.append(("broken", args, kwargs))
        raise RuntimeError("listener trouble")

    listen("ch", broken)
    listen("ch", lambda *a, **k: calls.append(("second", a, k)))
    with caplog.at_level(logging.ERROR, logger="rel"):
        bus._deliver("ch", [1, 2], {"k": "v"})
    assert calls == [("broken", (1, 2), {"k": "v"}), ("second", (1, 2), {"k": "v"})]
    assert "listener trouble" in caplog.text
    bus._deliver("nobody", [], {})  # no listener: nothing happens


def test_another_processs_ask_is_answered_by_the_first_listener_here(caplog):
    assert bus._local_answer("ch", [], {}) == (False, None)
    listen("ch", lambda x: x + 1)
    listen("ch", lambda x: "second")
    assert bus._local_answer("ch", [1], {}) == (True, 2)
    bus.listeners.clear()

    def broken(x: Any) -> None:
        raise RuntimeError("cannot answer")

    listen("ch", broken)
    with caplog.at_level(logging.ERROR, logger="rel"):
        assert bus._local_answer("ch", [1], {}) == (False, None)
    assert "cannot answer" in caplog.text


def test_disconnect_when_not_connected_does_nothing():
    assert not bus.connected()
    bus.disconnect()
    assert not bus.connected()


def test_connect_has_the_defaults_the_readme_documents():
    params = inspect.signature(bus.connect).parameters
    assert {name: p.default for name, p in params.items() if name != "url"} == {
        "ask_timeout": 5.0, "queue_limit": 100_000, "namespace": "rel", "codec": None,
        "connect_timeout": 5.0}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for name, p in params.items() if name != "url")


def test_connect_without_redis_py_says_what_to_install():
    try:
        import redis  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("redis-py is installed here")
    with pytest.raises(ImportError, match=r'pip install "rel-util\[redis\]"'):
        bus.connect("redis://127.0.0.1:1")
    assert not bus.connected()
