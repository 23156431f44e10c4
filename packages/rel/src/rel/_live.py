"""Names whose value is read when used: rel 0.4.9.27's module globals that it
rebinds at run time (``SLEEP_SEC`` after ``set_sleep()``, ``LOUD`` after
``loudListen()``), which a plain re-export would freeze at import."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple


def live(namespace: Dict[str, Any], getters: Dict[str, Callable[[], Any]]
         ) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` (PEP 562) serving ``getters``."""
    module = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        getter = getters.get(name)
        if getter is None:
            raise AttributeError("module %r has no attribute %r" % (module, name))
        return getter()

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(getters))

    return __getattr__, __dir__
