"""The list of deviations itself: well formed, honest about users, published."""

from __future__ import annotations

import deviations


def test_the_list_parses_and_every_entry_has_a_reason():
    entries = deviations.load()
    assert entries
    for entry in entries:
        assert len(entry.reason) > 40, entry.title
        assert entry.ids, entry.title
    titles = [e.title for e in entries]
    assert len(titles) == len(set(titles))


def test_no_internal_deviation_names_what_users_use():
    """dez, cantools and websocket-client use these: surface, never "internal"."""
    assert not deviations.internal_but_used(deviations.load())


def test_the_check_catches_an_internal_entry_that_names_a_used_name():
    fake = deviations.Deviation("t", "internal", "r", ["surface:rel.util.*"])
    assert deviations.internal_but_used([fake]) == ["rel.util.log (t)", "rel.util.loudListen (t)"]


def test_readme_publishes_exactly_the_list():
    readme = deviations.README.read_text(encoding="utf-8")
    section = deviations.readme_section(readme)
    assert section, "packages/rel/README.md has no deviations section"
    assert section == deviations.render_readme(deviations.load()), (
        "packages/rel/README.md and DEVIATIONS.md disagree: run "
        "`python tests/differential/deviations.py --write-readme`")


def test_parse_rejects_an_entry_without_kind_or_differences():
    import pytest

    with pytest.raises(ValueError):
        deviations.parse("# t\n\n## an entry\n\nno kind here\n")
    with pytest.raises(ValueError):
        deviations.parse("## an entry\n\nKind: fixed\n\nreason\n")
