"""The comparison itself: it must flag what the issue found, and only that.

Signatures are in surface.py's form, ``[name, kind, has_default]``.
"""

from __future__ import annotations

import compare

P, K, V, KW = "POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY", "VAR_POSITIONAL", "VAR_KEYWORD"


problem = compare.signature_problem
describe = compare.describe_problem


def sig(*params):
    return [list(p) for p in params]


def test_the_defects_of_the_issue_are_flagged():
    # signal(sig, callback, *args) vs signal(sig, cb, *args)
    assert problem(sig(("sig", P, False), ("callback", P, False), ("args", V, False)),
                                     sig(("sig", P, False), ("cb", P, False), ("args", V, False)))
    # log(text) vs log(*msg)
    assert problem(sig(("text", P, False)), sig(("msg", V, False)))
    # Event.add(delay=None) vs add(timeout=None)
    assert problem(sig(("delay", P, True)), sig(("timeout", P, True)))


def test_what_accepts_every_call_passes():
    orig = sig(("sock", P, False), ("cb", P, False), ("args", V, False))
    assert problem(orig, orig) is None
    # an extra keyword-only parameter with a default
    assert problem(orig, orig + sig(("arm", K, True))) is None
    # log(text) vs log(text, *more); add(delay=None) vs add(delay=None, extra=None)
    assert problem(sig(("text", P, False)), sig(("text", P, False), ("more", V, False))) is None
    assert problem(sig(("delay", P, True)), sig(("delay", P, True), ("extra", P, True))) is None
    # a required parameter made optional
    assert problem(sig(("data", P, False)), sig(("data", P, True))) is None


def test_what_refuses_a_call_the_original_takes_is_flagged():
    orig = sig(("sock", P, False), ("cb", P, False), ("args", V, False))
    # *args dropped
    assert "*args missing" in problem(orig, orig[:2])
    # an extra positional before *args would swallow an argument
    assert "before *args" in problem(
        orig, orig[:2] + sig(("extra", P, True)) + orig[2:])
    # optional made required
    assert "required" in problem(sig(("delay", P, True)), sig(("delay", P, False)))
    # an extra required parameter
    assert "required" in problem(sig(("a", P, False)), sig(("a", P, False), ("b", P, False)))
    assert "required" in problem(sig(("a", P, False)), sig(("a", P, False), ("b", K, False)))
    # **kwargs dropped
    assert "**kwargs" in problem(sig(("kw", KW, False)), sig())


def test_names_values_and_classes():
    value = {"kind": "value", "type": "float", "value": 0.03}
    assert describe(value, None).startswith("missing")
    assert describe(value, {"kind": "value", "type": "int", "value": 0}) is not None
    assert describe(value, {"kind": "value", "type": "float", "value": 0.03}) is None
    assert describe({"kind": "value", "type": "str"}, {"kind": "value", "type": "str"}) is None
    assert describe({"kind": "value", "type": "list"}, {"kind": "value", "type": "tuple"})
    assert describe({"kind": "module", "name": "rel.util"}, None)
    cls = {"kind": "class", "sig": sig(), "methods": {"pending": sig()}}
    found = compare.surface_differences(
        {"plain": {"rel.X": cls}, "direct": {}},
        {"plain": {"rel.X": {"kind": "class", "sig": sig(), "methods": {}}}, "direct": {}})
    assert list(found) == ["surface:rel.X.pending"]


def test_trace_lines_are_named_by_their_key():
    found = compare.trace_differences("p", ["a: 1", "b: 2", "exit: 0"], ["a: 1", "b: 3", "exit: 0"])
    assert list(found) == ["trace:p:b"]
    assert found["trace:p:b"] == "- b: 2\n+ b: 3"
    assert list(compare.trace_differences("p", ["a: 1"], ["a: 1", "extra: x"])) == ["trace:p:extra"]
    assert compare.trace_differences("p", ["a: 1"], ["a: 1"]) == {}


def test_a_module_missing_or_added_is_a_difference():
    orig = {"modules": {"rel.rel": {}, "rel.test": {}, "rel.tools": {}}}
    ours = {"modules": {"rel.rel": {}, "rel.tools": {}, "rel._live": {}, "rel.extra": {}}}
    found = compare.module_differences(orig, ours)
    assert sorted(found) == ["surface:module:rel.extra", "surface:module:rel.test"]
    assert compare.module_differences(orig, {"modules": dict(orig["modules"], **{"rel._x": {}})}) == {}
