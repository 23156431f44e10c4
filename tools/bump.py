"""Set the version of all five packages at once: ``nox -s bump -- 0.5.1``.

The family moves in lock-step (STYLE.md lesson 13): this rewrites every
``packages/*/src/*/_version.py`` and every exact sibling pin (``"rel-core==X"``
...) in every ``packages/*/pyproject.toml``, all or nothing. ``--check`` only
verifies that the tree is in lock-step (``tools/build_dists.py`` runs it).

Exit status: 0 done, 1 the tree is not in the shape expected (a missing
version file or pin), 2 a bad command line or a version that is not a
canonical PEP 440 public version above rel 0.4.9.27.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relpackages import DISTS, ROOT, VERSION_FILE_RE, version_file  # noqa: E402

# PEP 440's canonical public version (its appendix): what PyPI accepts and what
# the build backend writes back unchanged. Local versions (+abc) are refused:
# PyPI rejects them.
CANONICAL = re.compile(
    r"^(?:(?P<epoch>[1-9][0-9]*)!)?(?P<release>(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*)"
    r"(?P<pre>(?:a|b|rc)(?:0|[1-9][0-9]*))?(?:\.post(?:0|[1-9][0-9]*))?(?:\.dev(?:0|[1-9][0-9]*))?$"
)
# `pip install -U rel` must move today's users off rel 0.4.9.27.
LAST_OLD_REL = (0, 4, 9, 27)
NAMES = sorted((d.name for d in DISTS), key=len, reverse=True)
# "rel-core==0.5.0" inside a quoted requirement; the lookahead keeps "rel" from
# matching the start of "rel-core".
PIN_RE = re.compile(r"""(?P<q>["'])(?P<name>%s)(?=\s*==)(?P<op>\s*==\s*)(?P<version>[^"'\s;,\]]+)"""
                    % "|".join(re.escape(n) for n in NAMES))

Change = Tuple[Path, str, str]  # (file, old text, new text)


class TreeError(Exception):
    """The tree is not in the shape this tool rewrites."""


def version_problem(version: str) -> Optional[str]:
    """Why ``version`` cannot be released, or None."""
    match = CANONICAL.match(version)
    if not match:
        return ("%r is not a canonical PEP 440 public version (examples: 0.5.1, 0.6.0rc1, "
                "1.0.post1, 1.1.dev0; no 'v' prefix, no +local part)" % (version,))
    release = tuple(int(p) for p in match.group("release").split("."))
    # 0.4.9.27.post1 is above 0.4.9.27; 0.4.9.27rc1 and 0.4.9.27.dev1 are below it.
    post_of_last = release == LAST_OLD_REL and ".post" in version and not match.group("pre")
    if not match.group("epoch") and release <= LAST_OLD_REL and not post_of_last:
        return ("%s is not above rel 0.4.9.27: `pip install -U rel` would not upgrade "
                "today's users" % (version,))
    return None


def current(root: Path) -> List[Tuple[Path, str]]:
    """Every version string in the tree: [(file, version)], version files and pins."""
    found = []
    for dist in DISTS:
        path = version_file(dist, root)
        if not path.is_file():
            raise TreeError("%s: missing" % path.relative_to(root))
        versions = VERSION_FILE_RE.findall(path.read_text())
        if len(versions) != 1:
            raise TreeError('%s: expected one __version__ = "..." line, found %d'
                            % (path.relative_to(root), len(versions)))
        found.append((path, versions[0]))
        pyproject = root / "packages" / dist.name / "pyproject.toml"
        pins = {m.group("name"): m.group("version") for m in PIN_RE.finditer(pyproject.read_text())}
        if sorted(pins) != sorted(dist.siblings):
            raise TreeError("%s: pins %s, expected exactly %s"
                            % (pyproject.relative_to(root), sorted(pins) or "nothing",
                               sorted(dist.siblings) or "nothing"))
        found += [(pyproject, v) for v in pins.values()]
    return found


def plan(root: Path, version: str) -> List[Change]:
    """Every file that changes, with its new text; nothing is written."""
    current(root)  # raises TreeError unless every file has what we rewrite
    changes = []
    for dist in DISTS:
        path = version_file(dist, root)
        old = path.read_text()
        new = VERSION_FILE_RE.sub('__version__ = "%s"' % version, old)
        changes.append((path, old, new))
        pyproject = root / "packages" / dist.name / "pyproject.toml"
        old = pyproject.read_text()
        new = PIN_RE.sub(lambda m: "%s%s%s%s" % (m.group("q"), m.group("name"), m.group("op"), version), old)
        changes.append((pyproject, old, new))
    return [c for c in changes if c[1] != c[2]]


def check(root: Path) -> List[str]:
    """Lock-step problems: one line each, none when every version and pin agrees."""
    found = current(root)
    versions = sorted({v for _, v in found})
    if len(versions) == 1:
        return []
    expected = found[0][1]
    return ["%s: %s, but %s has %s" % (p.relative_to(root), v, found[0][0].relative_to(root), expected)
            for p, v in found if v != expected]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bump.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("version", nargs="?", help="the new version, e.g. 0.5.1")
    parser.add_argument("--check", action="store_true", help="only verify that the tree is in lock-step")
    parser.add_argument("--root", type=Path, default=ROOT, help="the monorepo (default: this one)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.check:
            problems = check(root)
            for line in problems:
                print("bump: not in lock-step: %s" % line, file=sys.stderr)
            if not problems:
                print("bump: every version and sibling pin is %s" % current(root)[0][1])
            return 1 if problems else 0
        if args.version is None:
            parser.print_usage(sys.stderr)
            print("bump.py: error: give the new version (nox -s bump -- 0.5.1)", file=sys.stderr)
            return 2
        problem = version_problem(args.version)
        if problem:
            print("bump.py: error: %s" % problem, file=sys.stderr)
            return 2
        changes = plan(root, args.version)
    except TreeError as exc:
        print("bump.py: error: %s" % exc, file=sys.stderr)
        return 1
    for path, _, new in changes:  # every file was read and checked above: write them all
        path.write_text(new)
        print("bump: %s" % path.relative_to(root))
    print("bump: every package is now %s (%d files changed); add its section to CHANGELOG.md"
          % (args.version, len(changes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
