"""The list of deliberate differences from rel 0.4.9.27: read, checked, published.

The list is ``packages/rel/DEVIATIONS.md`` (its opening says how it is written).
``packages/rel/README.md`` publishes it between two markers, in the form
:func:`render_readme` gives; ``python deviations.py --write-readme`` rewrites
that part of the README from the list.
"""

from __future__ import annotations

import fnmatch
import re
import sys
from pathlib import Path
from typing import Dict, Iterable, List, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
DEVIATIONS = ROOT / "packages" / "rel" / "DEVIATIONS.md"
README = ROOT / "packages" / "rel" / "README.md"
START = "<!-- deviations: generated from DEVIATIONS.md by tests/differential/deviations.py -->"
END = "<!-- /deviations -->"
KINDS = ("fixed", "changed", "internal")

# What rel's three named users reach of rel, found by grepping the sources of
# dez 0.10.10.56, ct (cantools) 0.10.8.121 and websocket-client 1.9.2 (pip
# download --no-deps) for ``rel.``, ``from rel``, ``import event`` and the
# methods called on the watchers rel returns. Each is surface: no "internal"
# deviation may name one of them.
USERS_USE = [
    # dez
    "rel.abort", "rel.dispatch", "rel.error", "rel.event", "rel.initialize", "rel.override",
    "rel.read", "rel.signal", "rel.supported_methods", "rel.timeout", "rel.util",
    "rel.util.log", "rel.write",
    "rel.listener.Timer.add", "rel.listener.Timer.delete", "rel.listener.Timer.pending",
    "rel.listener.SocketIO.add", "rel.listener.SocketIO.delete", "rel.listener.SocketIO.pending",
    "rel.listener.SocketIO.dereference", "rel.listener.Event.add", "rel.listener.Event.delete",
    # cantools: init_rel(), memcreep, bench, pubsub bots (``import event``: event.timeout)
    "rel.set_sleep", "rel.set_turbo", "rel.set_verbose", "rel.util.loudListen", "rel.tick",
    # websocket-client's WrappedDispatcher (dispatcher=rel)
    "rel.buffwrite",
]


class Deviation(NamedTuple):
    title: str
    kind: str
    reason: str  # one paragraph
    ids: List[str]  # patterns: fnmatch, over difference ids


def parse(text: str) -> List[Deviation]:
    """The entries of DEVIATIONS.md; ValueError for one that is malformed."""
    entries = []
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        kind = re.search(r"^Kind: (\w+)$", body, re.M)
        head, sep, tail = body.partition("\nDifferences:\n")
        ids = re.findall(r"^- `([^`]+)`$", tail, re.M)
        if not kind or kind.group(1) not in KINDS or not sep or not ids:
            raise ValueError("DEVIATIONS.md: %r needs 'Kind: %s' and a 'Differences:' list"
                             % (title, "|".join(KINDS)))
        paragraphs = [p for p in head.split("\n\n") if p.strip() and not p.strip().startswith("Kind:")]
        reason = " ".join(" ".join(p.split()) for p in paragraphs)
        entries.append(Deviation(title.strip(), kind.group(1), reason, ids))
    return entries


def load() -> List[Deviation]:
    return parse(DEVIATIONS.read_text(encoding="utf-8"))


def unlisted(found: Dict[str, str], entries: Iterable[Deviation]) -> Dict[str, str]:
    """The differences no entry names."""
    patterns = [p for e in entries for p in e.ids]
    return {k: v for k, v in found.items() if not any(fnmatch.fnmatchcase(k, p) for p in patterns)}


def stale(found: Dict[str, str], entries: Iterable[Deviation]) -> List[str]:
    """The patterns that name no difference found (the list is out of date)."""
    return ["%s (%s)" % (p, e.title) for e in entries for p in e.ids
            if not any(fnmatch.fnmatchcase(k, p) for k in found)]


def internal_but_used(entries: Iterable[Deviation]) -> List[str]:
    """Names rel's users reach that an "internal" entry claims."""
    return ["%s (%s)" % (name, e.title) for e in entries if e.kind == "internal"
            for name in USERS_USE for p in e.ids if fnmatch.fnmatchcase("surface:" + name, p)]


def render_readme(entries: Iterable[Deviation]) -> str:
    """The README's list: one item per deviation, its title and reason."""
    lines = [START]
    for e in entries:
        lines.append("- **%s** (%s). %s" % (e.title, e.kind, e.reason))
    lines.append(END)
    return "\n".join(lines)


def readme_section(text: str) -> str:
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return ""
    return text[start:end + len(END)]


def write_readme() -> None:
    text = README.read_text(encoding="utf-8")
    old = readme_section(text)
    if not old:
        raise SystemExit("README.md has no %s ... %s section to rewrite" % (START, END))
    README.write_text(text.replace(old, render_readme(load())), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-readme"]:
        write_readme()
    else:
        for entry in load():
            print("%-9s %s" % (entry.kind, entry.title))
