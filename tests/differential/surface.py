"""Print, as JSON, the public surface of whichever ``rel`` this interpreter imports.

Run unchanged under rel 0.4.9.27 and under this project; ``compare.py`` diffs the
two dumps. Two ways in, as users have them:

* ``plain``: a fresh ``import rel``, then every submodule that import bound as an
  attribute (dez calls ``rel.util.log()`` after a plain ``import rel``);
* ``direct``: for each of the original's submodules, a fresh interpreter that
  imports it by its path (``import rel.tools``) and dumps it;
* ``modules``: the modules the installed ``rel`` package holds (its files, as
  the wheel put them there: ``rel/test.py`` is ``rel.test``), so that a module
  missing is found the way a missing name is.

A path (``rel.listener.Timer.add``) maps to a descriptor: ``module``, ``class``
(with its call signature and its public methods), ``callable`` (with its
signature) or ``value`` (its type, and its value for numbers). A signature is a
list of ``[name, kind, has_default]``, or None where it cannot be read.

Usage: ``python surface.py`` prints ``{"plain": {...}, "direct": {...}}``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
import types

# The original's submodules, every one a user can import (rel.test, its own test
# suite, calls override() at import: harmless in an interpreter of its own).
SUBMODULES = ["rel", "listener", "registrar", "errors", "util", "buff", "tools", "version", "test"]
SCALARS = (bool, int, float, type(None))


def signature(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [[p.name, p.kind.name, p.default is not inspect.Parameter.empty]
            for p in sig.parameters.values()]


def public(name):
    return not name.startswith("_") or name == "__version__"


def describe_class(cls):
    methods = {}
    for name in dir(cls):
        if name.startswith("_") or any(name in vars(base) for base in (object, type)):
            continue
        attr = inspect.getattr_static(cls, name)
        if isinstance(attr, (staticmethod, classmethod)):
            methods[name] = signature(getattr(cls, name))
        elif inspect.isfunction(attr):
            methods[name] = signature(attr)[1:] if signature(attr) else None  # drop self
    return {"kind": "class", "sig": signature(cls), "methods": methods}


def describe(value):
    if isinstance(value, types.ModuleType):
        return {"kind": "module", "name": value.__name__}
    if inspect.isclass(value):
        return describe_class(value)
    if callable(value):
        return {"kind": "callable", "sig": signature(value)}
    desc = {"kind": "value", "type": type(value).__name__}
    if isinstance(value, SCALARS):
        desc["value"] = value
    return desc


def dump_module(module, path, out):
    out[path] = describe(module)
    for name in sorted(dir(module)):
        if public(name):
            out[path + "." + name] = describe(getattr(module, name))


def plain():
    import rel

    out = {}
    dump_module(rel, "rel", out)
    for name in sorted(vars(rel)):
        value = getattr(rel, name)
        if isinstance(value, types.ModuleType) and value.__name__ == "rel." + name:
            dump_module(value, "rel." + name, out)
    return out


def direct(sub):
    try:
        module = importlib.import_module("rel." + sub)
    except ImportError as exc:
        return {"rel." + sub: {"kind": "missing", "error": str(exc)}}
    out = {}
    dump_module(module, "rel." + sub, out)
    return out


def modules():
    """``{"rel.<name>": {"kind": "module"}}`` for each module file of the
    installed package (private ones too: the comparison decides)."""
    import pkgutil

    import rel

    return {"rel." + m.name: {"kind": "module", "name": "rel." + m.name}
            for m in pkgutil.iter_modules(rel.__path__)}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--direct":
        json.dump(direct(sys.argv[2]), sys.stdout)
        return
    result = {"plain": plain(), "direct": {}, "modules": modules()}
    for sub in SUBMODULES:
        proc = subprocess.run([sys.executable, __file__, "--direct", sub],
                              capture_output=True, text=True, check=True, timeout=120)
        result["direct"].update(json.loads(proc.stdout))
    json.dump(result, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
