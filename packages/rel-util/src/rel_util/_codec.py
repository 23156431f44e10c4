"""What goes on the wire of the Redis bus: JSON unless ``connect(codec=...)`` says otherwise."""

from __future__ import annotations

import json
from typing import Any


class Codec:
    """JSON, compact: what goes on the wire unless ``connect(codec=...)`` says otherwise."""

    dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    loads = staticmethod(json.loads)


def hashable(value: Any) -> Any:
    """Decoded JSON made usable as a dict key (lists become tuples)."""
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value
