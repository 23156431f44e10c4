"""The Redis bus's default codec: JSON, decoded by the C scanner directly
(rel_util._codec imports only the standard library: no Redis needed here)."""

from __future__ import annotations

import json

import pytest
from rel_util._codec import Codec

SAME = [
    b'["e","0123456789abcdef",7,[1,2.5,"x"],{"k":null}]',
    b'"caf\xc3\xa9"', b"3", b"true", b"{}", b"[]",
    b'  [1, 2] \n',           # spaces around: json.loads's path
    '["str"]',                 # str, not bytes
    '[1]'.encode("utf-16"),    # another encoding json.loads detects
    b'[1e400]', b'[NaN]',
]


@pytest.mark.parametrize("data", SAME)
def test_loads_is_json_loads(data):
    assert repr(Codec.loads(data)) == repr(json.loads(data))


@pytest.mark.parametrize("data", [b"", b"[1", b"[1]x", b"\xff\xfe\xfd", b"[1] [2]", b"nope"])
def test_loads_rejects_what_json_loads_rejects(data):
    with pytest.raises(ValueError) as expected:
        json.loads(data)
    with pytest.raises(type(expected.value)):
        Codec.loads(data)


def test_dumps_is_compact_and_refuses_nan():
    assert Codec.dumps(["e", 1, {"a": [1, 2]}]) == '["e",1,{"a":[1,2]}]'
    with pytest.raises(ValueError):
        Codec.dumps([float("nan")])
