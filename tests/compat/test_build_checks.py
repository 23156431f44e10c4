"""tools/build_dists.py's wheel checks catch what they are meant to catch.

Each test writes a wheel by hand from the real sources of a package, breaks one
thing, and expects exactly that to be reported (the real wheels are checked by
``nox -s build``)."""

from __future__ import annotations

import zipfile

import pytest
from compat_support import load_tool

build_dists = load_tool("build_dists")
relpackages = load_tool("relpackages")
VERSION = relpackages.project_version()


def write_wheel(path, dist, files=None, requires=None, entry_points=None, purelib=True):
    """A wheel of ``dist`` as the build should make it, unless told otherwise."""
    info = "%s-%s.dist-info/" % (dist.stem, VERSION)
    src = dist.folder / "src"
    if files is None:
        files = {name: (src / name).read_bytes() for name in build_dists.source_files(dist)}
    if requires is None:
        requires = ["%s==%s" % (s, VERSION) for s in dist.siblings]
    if entry_points is None:
        entry_points = dist.entry_points
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Python: >=3.9\n" % (dist.name, VERSION)
    meta += "".join("Requires-Dist: %s\n" % r for r in requires)
    eps = "".join("[%s]\n%s\n" % (g, "".join("%s = %s\n" % kv for kv in e.items()))
                  for g, e in entry_points.items())
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(info + "METADATA", meta)
        zf.writestr(info + "WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: %s\nTag: py3-none-any\n"
                    % ("true" if purelib else "false"))
        if eps:
            zf.writestr(info + "entry_points.txt", eps)
    return zipfile.ZipFile(path)


def problems(tmp_path, name="rel-core", **broken):
    dist = relpackages.BY_NAME[name]
    with write_wheel(tmp_path / "w.whl", dist, **broken) as zf:
        return build_dists.check_wheel(dist, zf, VERSION, {dist.name: zf})


def sources(name="rel-core"):
    dist = relpackages.BY_NAME[name]
    return {n: (dist.folder / "src" / n).read_bytes() for n in build_dists.source_files(dist)}


def test_a_wheel_as_built_passes(tmp_path):
    assert problems(tmp_path) == []


def test_tests_inside_the_wheel(tmp_path):
    files = dict(sources(), **{"rel_core/tests/test_loop.py": b""})
    found = problems(tmp_path, files=files)
    assert any("holds tests" in p for p in found), found


def test_missing_py_typed_and_module(tmp_path):
    files = {n: d for n, d in sources().items() if n not in ("rel_core/py.typed", "rel_core/selector.py")}
    found = " | ".join(problems(tmp_path, files=files))
    assert "lacks rel_core/py.typed" in found and "rel_core.selector" in found, found


def test_a_file_outside_the_package(tmp_path):
    found = problems(tmp_path, files=dict(sources(), **{"conftest.py": b""}))
    assert any("outside rel_core/" in p for p in found), found


@pytest.mark.parametrize("requires", [[], ["rel-core>=0.5"], ["rel-core==0.4.9"]])
def test_wrong_pins(tmp_path, requires):
    found = problems(tmp_path, name="rtimer", files=sources("rtimer"), requires=requires)
    assert any("Requires-Dist" in p for p in found), found


def test_wrong_or_missing_entry_points(tmp_path):
    found = problems(tmp_path, entry_points={})
    assert any("entry points are none" in p for p in found), found
    bad = {"rel.registrars": {"selectors": "rel_core.selector:NoSuchRegistrar"}}
    found = problems(tmp_path, entry_points=bad)
    assert any("does not define NoSuchRegistrar" in p for p in found), found


def test_not_pure_python(tmp_path):
    found = problems(tmp_path, purelib=False)
    assert any("py3-none-any" in p for p in found), found
