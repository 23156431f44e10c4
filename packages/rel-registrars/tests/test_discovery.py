"""How rel finds these registrars, what it says where one cannot run, and
switching registrar while watchers are armed."""

from __future__ import annotations

import importlib
import importlib.util
import select
import sys
from importlib import metadata
from typing import Any, Iterator, List

import pytest
import rel_core
import rel_core.rel
from conftest import CLASSES, OURS, run_until, socketpair

import rel_registrars

PLATFORMS = {
    "epoll": ("epoll", ["Linux"]),
    "kqueue": ("kqueue", ["macOS", "FreeBSD", "OpenBSD", "NetBSD"]),
    "devpoll": ("devpoll", ["Solaris", "illumos"]),
    "poll": ("poll", ["POSIX", "not Windows"]),
}
CLASS_NAMES = {"epoll": "EpollRegistrar", "kqueue": "KqueueRegistrar", "devpoll": "DevpollRegistrar",
               "poll": "PollRegistrar", "select": "SelectRegistrar"}


def available(name: str) -> bool:
    return hasattr(select, name)


@pytest.fixture
def facade() -> Iterator[None]:
    """Leave rel_core's process-wide registrar as we found it."""
    saved = rel_core.rel.registrar, rel_core.rel.method
    rel_core.rel.registrar = rel_core.rel.method = None
    yield
    if rel_core.rel.registrar is not None:
        rel_core.rel.registrar.close()
    rel_core.rel.registrar, rel_core.rel.method = saved


def test_supported_methods_order() -> None:
    assert rel_core.supported_methods == ["epoll", "kqueue", "devpoll", "poll", "select", "selectors"]


def test_entry_points_name_our_classes() -> None:
    dist = metadata.distribution("rel-registrars")
    eps = {ep.name: ep.value for ep in dist.entry_points if ep.group == "rel.registrars"}
    assert eps == {name: "rel_registrars.%s:%s" % (name, cls) for name, cls in CLASS_NAMES.items()}


@pytest.mark.parametrize("name", OURS)
def test_each_class_is_named_by_its_classic_name(name: str) -> None:
    assert getattr(rel_registrars, CLASS_NAMES[name]).name == name


@pytest.mark.parametrize("name", [n for n in OURS if available(n)])
def test_initialize_strict_by_name(facade: None, name: str) -> None:
    assert rel_core.initialize([name], ["strict"]) == name
    reg = rel_core.rel.registrar
    assert type(reg).__module__ == "rel_registrars." + name
    a, b = socketpair()
    got: List[bytes] = []
    rel_core.read(a, lambda: got.append(a.recv(10)))
    b.send(b"hi")
    rel_core.dispatch()
    assert got == [b"hi"]
    a.close(), b.close()


# -- where a registrar cannot run ----------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_module_import_fails_without_its_kernel_call(monkeypatch: Any, name: str) -> None:
    """Run the module's code where ``select`` lacks the call: ImportError naming
    the platforms it serves."""
    call, platforms = PLATFORMS[name]
    monkeypatch.delattr(select, call, raising=False)
    spec = importlib.util.find_spec("rel_registrars." + name)
    assert spec is not None and spec.loader is not None
    with pytest.raises(ImportError) as info:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    for platform in platforms:
        assert platform in str(info.value)
    assert "select.%s" % call in str(info.value) and sys.platform in str(info.value)


@pytest.mark.parametrize("name", [n for n in sorted(PLATFORMS) if not available(n)])
def test_unavailable_here(facade: None, name: str) -> None:
    call, platforms = PLATFORMS[name]
    with pytest.raises(ImportError, match=platforms[0]):
        importlib.import_module("rel_registrars." + name)
    stand_in = getattr(rel_registrars, CLASS_NAMES[name])  # importable everywhere
    assert issubclass(stand_in, rel_core.registrar.Registrar) and stand_in.name == name
    with pytest.raises(ImportError, match=platforms[0]):
        stand_in()
    with pytest.raises(ImportError, match=platforms[0]):
        rel_core.initialize([name], ["strict"])
    assert rel_core.initialize([name]) in rel_core.supported_methods  # falls back


def test_rel_registrar_names_importable() -> None:
    from rel_registrars import (  # noqa: F401
        DevpollRegistrar, EpollRegistrar, KqueueRegistrar, PollRegistrar, SelectRegistrar,
    )


# -- switching registrar -------------------------------------------------------------------
def test_switch_with_initialize_after_init(facade: None) -> None:
    """init(), then initialize() again: watchers move to the new registrar and
    keep working; the old one watches nothing any more."""
    names = [n for n in OURS if available(n)] + ["selectors"]
    rel_core.initialize([names[0]], ["strict"])
    rel_core.init()
    a, b = socketpair()
    got: List[bytes] = []
    reader = rel_core.read(a, lambda: got.append(a.recv(10)) or True)
    for name in names[1:] + names[:1]:
        old = rel_core.rel.registrar
        assert rel_core.initialize([name], ["strict"]) == name
        new = rel_core.rel.registrar
        assert new is not old and old._kmask == {} and a.fileno() in new._kmask
        kernel = getattr(old, "_poller", None) or getattr(old, "_kq", None)
        if hasattr(kernel, "closed"):
            assert kernel.closed  # the old registrar's kernel object let go of every fd
        want = name.encode()
        b.send(want)
        run_until(new, lambda want=want: bool(got) and got[-1] == want)
        assert reader.pending()
    reader.delete()
    a.close(), b.close()


@pytest.mark.parametrize("new_cls", CLASSES)
def test_adopt_moves_watchers_and_no_fd_is_watched_twice(new_cls: Any) -> None:
    from rel_core.selector import SelectorRegistrar

    old = SelectorRegistrar()
    a, b = socketpair()
    got: List[str] = []
    old.read(a, lambda: got.append("read:%s" % a.recv(10).decode()) or True)
    old.error(a, lambda: got.append("error"))
    old.write(b, lambda: got.append("write"))
    new = new_cls()
    try:
        new.adopt(old)
        assert old._kmask == {} and old._io == {}
        assert {a.fileno(), b.fileno()} <= set(new._kmask)
        run_until(new, lambda: "write" in got)
        b.send(b"x")
        run_until(new, lambda: "read:x" in got)
        b.close()
        run_until(new, lambda: "error" in got)
    finally:
        new.close()
        a.close()
