"""What goes on the wire of the Redis bus: JSON unless ``connect(codec=...)`` says otherwise."""

from __future__ import annotations

import json
from typing import Any, Union

# The C scanner json.loads ends up in, called directly: json.loads(bytes)
# first guesses the encoding (a regex and a few startswith) and strips
# whitespace around the document, ~3 µs of a ~5 µs call for a bus message.
# Bus messages are compact UTF-8 JSON; anything else takes json.loads's path.
_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in its __init__, untyped


class Codec:
    """JSON, compact: what goes on the wire unless ``connect(codec=...)`` says otherwise."""

    dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode

    @staticmethod
    def loads(data: Union[bytes, str]) -> Any:
        """``json.loads(data)``, faster for compact UTF-8 JSON (what ``dumps`` makes)."""
        try:
            text = data.decode() if isinstance(data, bytes) else data
            value, end = _scan(text, 0)
            if end == len(text):
                return value
        except Exception:  # json.loads says what is wrong, or copes (other encodings, spaces)
            pass
        return json.loads(data)


def hashable(value: Any) -> Any:
    """Decoded JSON made usable as a dict key (lists become tuples)."""
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    return value
