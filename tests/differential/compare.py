"""Compare what rel 0.4.9.27 and this project show: surfaces and traces.

Every difference gets an id, the thing a deviation in ``packages/rel/DEVIATIONS.md``
names (see ``deviations.py``):

* ``surface:<path>`` for a name (``surface:rel.util.log``), a class method
  (``surface:rel.listener.Event.add``) or a module that differs;
* ``surface:module:<module>`` for a module of the installed package, missing
  from ours or added by ours (``surface:module:rel.test``);
* ``trace:<program>:<key>`` for a line of a program's trace
  (``trace:timers:equal_deadlines``).

The rule for a callable: ours must accept every call the original's accepts.
The original's positional parameters come first in ours, with the same names in
the same order, optional where the original's are; ``*args``/``**kwargs`` kept
where the original has them; the original's keyword-only parameters kept; any
parameter of ours beyond those optional (and, before a ``*args`` the original
has, none at all: it would swallow a positional argument).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "programs"
SURFACE = HERE / "surface.py"
POSITIONAL = ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")
TIMEOUT = 120  # seconds for one program or one dump; each needs far less


# -- running things in an interpreter -------------------------------------------------

def _env(tmp: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "REL_"))}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", HOME=tmp)
    return env


def run_python(python: str, args: List[str], tmp: str) -> subprocess.CompletedProcess:
    """Run ``python -E -s args`` in ``tmp``, with no PYTHON* variables, bounded."""
    return subprocess.run([python, "-E", "-s", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd=tmp, env=_env(tmp), timeout=TIMEOUT)


def dump_surface(python: str, tmp: str) -> dict:
    proc = run_python(python, [str(SURFACE)], tmp)
    if proc.returncode:
        raise RuntimeError("surface.py failed under %s:\n%s" % (python, proc.stderr))
    return json.loads(proc.stdout)


def program_names() -> List[str]:
    return sorted(p.stem for p in PROGRAMS.glob("*.py") if not p.name.startswith("_"))


def run_program(python: str, name: str, tmp: str) -> List[str]:
    """A program's trace: its stdout lines, then its exit status (and the last
    line of stderr if it failed), as ``key: value`` lines."""
    try:
        proc = run_python(python, [str(PROGRAMS / (name + ".py"))], tmp)
    except subprocess.TimeoutExpired:
        return ["exit: timed out after %ds" % TIMEOUT]
    lines = proc.stdout.splitlines()
    status = "exit: %d" % proc.returncode
    if proc.returncode:
        err = proc.stderr.strip().splitlines()
        status += " %s" % (err[-1] if err else "")
    return lines + [status]


# -- surfaces ---------------------------------------------------------------------

def _params(sig: list) -> dict:
    return {
        "pos": [(n, d) for n, k, d in sig if k in POSITIONAL],
        "kwonly": {n: d for n, k, d in sig if k == "KEYWORD_ONLY"},
        "varargs": any(k == "VAR_POSITIONAL" for n, k, d in sig),
        "varkw": any(k == "VAR_KEYWORD" for n, k, d in sig),
    }


def _fmt(sig: Optional[list]) -> str:
    if sig is None:
        return "(?)"
    parts = []
    for name, kind, has_default in sig:
        if kind == "VAR_POSITIONAL":
            name = "*" + name
        elif kind == "VAR_KEYWORD":
            name = "**" + name
        parts.append(name + ("=..." if has_default else ""))
    return "(%s)" % ", ".join(parts)


def signature_problem(orig: Optional[list], ours: Optional[list]) -> Optional[str]:
    """Why ``ours`` does not accept every call ``orig`` accepts; None if it does."""
    if orig is None:
        return None  # the original's cannot be read: nothing to hold ours to
    if ours is None:
        return "ours has no readable signature (original %s)" % _fmt(orig)
    o, n = _params(orig), _params(ours)
    why = []
    for i, (name, optional) in enumerate(o["pos"]):
        if i >= len(n["pos"]):
            if not n["varargs"] or name not in n["kwonly"] and not n["varkw"]:
                why.append("positional %r missing" % name)
            continue
        their_name, their_optional = n["pos"][i]
        if their_name != name:
            why.append("positional %d is %r, not %r" % (i + 1, their_name, name))
        elif optional and not their_optional:
            why.append("%r is required, the original's is optional" % name)
    for name, optional in n["pos"][len(o["pos"]):]:
        if o["varargs"]:
            why.append("extra positional %r before *args" % name)
        elif not optional:
            why.append("extra positional %r is required" % name)
    if o["varargs"] and not n["varargs"]:
        why.append("*args missing")
    if o["varkw"] and not n["varkw"]:
        why.append("**kwargs missing")
    for name, optional in o["kwonly"].items():
        if name not in n["kwonly"] and not n["varkw"]:
            why.append("keyword-only %r missing" % name)
        elif optional and not n["kwonly"].get(name, True):
            why.append("keyword-only %r is required" % name)
    orig_names = {p[0] for p in orig}
    for name, kind, has_default in ours:
        if kind == "KEYWORD_ONLY" and not has_default and name not in orig_names:
            why.append("extra keyword-only %r is required" % name)
    if why:
        return "; ".join(why) + ": original %s, ours %s" % (_fmt(orig), _fmt(ours))
    return None


def describe_problem(orig: dict, ours: Optional[dict]) -> Optional[str]:
    """Why the name ``ours`` describes cannot stand in for ``orig``; None if it can."""
    if ours is None or ours["kind"] == "missing":
        return "missing (the original's is a %s)" % orig["kind"]
    kind = orig["kind"]
    if kind == "missing":
        return None
    if kind == "module":
        return None if ours["kind"] == "module" else "not a module"
    if kind == "class":
        if ours["kind"] != "class":
            return "not a class (ours is a %s)" % ours["kind"]
        return signature_problem(orig["sig"], ours["sig"])
    if kind == "callable":
        if ours["kind"] not in ("callable", "class"):
            return "not callable (ours is a %s)" % ours["kind"]
        return signature_problem(orig["sig"], ours["sig"])
    # a value: same type (an int where a float was is fine), same number
    numbers = ("int", "float")
    if ours["kind"] != "value":
        return "a %s, the original's is a %s value" % (ours["kind"], orig["type"])
    if ours["type"] != orig["type"] and not (orig["type"] in numbers and ours["type"] in numbers):
        return "a %s, the original's is a %s" % (ours["type"], orig["type"])
    if "value" in orig and orig["type"] != "NoneType" and ours.get("value") != orig["value"]:
        return "%r, the original's is %r" % (ours.get("value"), orig["value"])
    return None


def surface_differences(orig: dict, ours: dict) -> Dict[str, str]:
    """{id: what differs} over both import modes and the modules shipped; a
    name counts once."""
    found: Dict[str, str] = module_differences(orig, ours)
    for mode in ("plain", "direct"):
        mine = ours[mode]
        for path, desc in orig[mode].items():
            problem = describe_problem(desc, mine.get(path))
            if problem:
                found.setdefault("surface:" + path, "%s (%s)" % (problem, mode))
            if desc["kind"] != "class" or mine.get(path, {}).get("kind") != "class":
                continue
            for meth, sig in desc["methods"].items():
                theirs = mine[path]["methods"]
                if meth not in theirs:
                    problem = "method missing: original %s%s" % (meth, _fmt(sig))
                else:
                    problem = signature_problem(sig, theirs[meth])
                if problem:
                    found.setdefault("surface:%s.%s" % (path, meth), "%s (%s)" % (problem, mode))
    return found


def module_differences(orig: dict, ours: dict) -> Dict[str, str]:
    """{``surface:module:rel.x``: what differs}: a module of the original's
    package that ours lacks, or a public module ours adds (a module is
    surface: ``python -m rel.test`` is how rel's documentation runs its tests)."""
    found: Dict[str, str] = {}
    theirs, mine = orig.get("modules", {}), ours.get("modules", {})
    for name in sorted(set(theirs) - set(mine)):
        found["surface:module:" + name] = "module missing: the original's wheel ships %s" % (name,)
    for name in sorted(set(mine) - set(theirs)):
        if not name.rsplit(".", 1)[-1].startswith("_"):
            found["surface:module:" + name] = "a module the original's wheel does not ship: %s" % (name,)
    return found


def surface_size(dump: dict) -> int:
    """How many names and methods a dump holds (both modes, counted once)."""
    seen = set()
    for mode in ("plain", "direct"):
        for path, desc in dump[mode].items():
            seen.add(path)
            seen.update(path + "." + m for m in desc.get("methods", ()))
    return len(seen)


# -- traces ------------------------------------------------------------------------

def _key(line: str) -> str:
    return line.split(":", 1)[0].strip() if ":" in line else line.strip()


def trace_differences(program: str, orig: List[str], ours: List[str]) -> Dict[str, str]:
    """{id: the differing lines}, line by line; a line's id is its ``key:``."""
    found: Dict[str, List[str]] = {}
    matcher = difflib.SequenceMatcher(a=orig, b=ours, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for line in orig[i1:i2]:
            found.setdefault("trace:%s:%s" % (program, _key(line)), []).append("- " + line)
        for line in ours[j1:j2]:
            found.setdefault("trace:%s:%s" % (program, _key(line)), []).append("+ " + line)
    return {k: "\n".join(v) for k, v in found.items()}


if __name__ == "__main__":  # python compare.py ORIGINAL_PYTHON: print every difference
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        diffs = surface_differences(dump_surface(sys.argv[1], tmp), dump_surface(sys.executable, tmp))
        for name in program_names():
            diffs.update(trace_differences(name, run_program(sys.argv[1], name, tmp),
                                           run_program(sys.executable, name, tmp)))
    for key in sorted(diffs):
        print(key, "\n   ", diffs[key].replace("\n", "\n    "))
