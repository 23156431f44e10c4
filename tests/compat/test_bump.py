"""tools/bump.py on a copy of the tree: every version file and sibling pin moves
together; a bad version is refused with exit status 2 and nothing written."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from compat_support import ROOT, load_tool

relpackages = load_tool("relpackages")
BUMP = ROOT / "tools" / "bump.py"


@pytest.fixture
def tree(tmp_path):
    """The files bump.py touches, copied: packages/<dist>/{pyproject.toml, src/<import>/_version.py}."""
    for dist in relpackages.DISTS:
        src = ROOT / "packages" / dist.name
        dst = tmp_path / "packages" / dist.name
        (dst / "src" / dist.import_name).mkdir(parents=True)
        shutil.copy(src / "pyproject.toml", dst / "pyproject.toml")
        shutil.copy(relpackages.version_file(dist), relpackages.version_file(dist, tmp_path))
    return tmp_path


def bump(tree, *args):
    return subprocess.run([sys.executable, str(BUMP), "--root", str(tree), *args],
                          capture_output=True, text=True, timeout=60)


def snapshot(tree):
    return {p: p.read_text() for p in sorted(tree.rglob("*")) if p.is_file()}


def test_moves_every_version_and_pin_together(tree):
    done = bump(tree, "0.6.0rc1")
    assert done.returncode == 0, done.stderr
    for dist in relpackages.DISTS:
        assert relpackages.read_version(dist, tree) == "0.6.0rc1"
        pyproject = (tree / "packages" / dist.name / "pyproject.toml").read_text()
        for sibling in dist.siblings:
            assert '"%s==0.6.0rc1"' % sibling in pyproject
        assert "==0.5" not in pyproject
    assert bump(tree, "--check").returncode == 0


def test_the_repository_is_in_lock_step():
    assert bump(ROOT, "--check").returncode == 0


@pytest.mark.parametrize("good", ["0.6", "0.6.0", "1.0.0.post1", "0.5.1.dev3"])
def test_accepts_a_canonical_version_newer_than_rel_0_4(tree, good):
    done = bump(tree, good)
    assert done.returncode == 0, done.stderr
    for dist in relpackages.DISTS:
        assert relpackages.read_version(dist, tree) == good
    assert bump(tree, "--check").returncode == 0


@pytest.mark.parametrize("bad", ["v0.6.0", "0.6.0+local", "0.6.0-1", "banana", "0.4.9.27", "0.4.0", "",
                                 "0.4.9.27rc1", "0.06", "1.0.0.0.post"])
def test_refuses_a_bad_version_and_writes_nothing(tree, bad):
    before = snapshot(tree)
    done = bump(tree, bad)
    assert done.returncode == 2, done
    assert done.stderr.startswith("bump.py: error:"), done.stderr
    assert len(done.stderr.strip().splitlines()) <= 2
    assert snapshot(tree) == before


def test_check_names_a_file_out_of_step(tree):
    pyproject = tree / "packages" / "rtimer" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("rel-core==", "rel-core==9", 1))
    done = bump(tree, "--check")
    assert done.returncode == 1
    assert "packages/rtimer/pyproject.toml" in done.stderr


def test_refuses_a_tree_without_a_pin_it_expects(tree):
    pyproject = tree / "packages" / "rel-util" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"rel-core==', '"rel-core>=', 1))
    before = snapshot(tree)
    done = bump(tree, "0.6.0")
    assert done.returncode == 1
    assert "rel-util/pyproject.toml" in done.stderr
    assert snapshot(tree) == before
