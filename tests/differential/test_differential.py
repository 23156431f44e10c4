"""rel 0.4.9.27 and this project, side by side: every difference must be listed.

A difference is fixed in our code or listed, with its reason, in
``packages/rel/DEVIATIONS.md``; a listed one that no longer occurs is an error
too, so the list stays true. See ``compare.py`` for what is compared.
"""

from __future__ import annotations

import pytest

import compare
import deviations

ENTRIES = deviations.load()


def _explain(found):
    return "\n".join("%s\n    %s" % (k, v.replace("\n", "\n    ")) for k, v in sorted(found.items()))


def test_the_original_was_really_read(results):
    """Guard against a harness that compares nothing with nothing."""
    orig = results["surface"]["orig"]
    for path in ("rel.timeout", "rel.util.log", "rel.listener.Timer", "rel.tools.timerCLI"):
        assert path in orig["plain"] or path in orig["direct"], path
    assert orig["plain"]["rel.util"]["kind"] == "module"  # bound by a plain import
    assert len(orig["direct"]) > 100
    assert {"rel.rel", "rel.test", "rel.tools"} <= set(orig["modules"])  # the wheel's modules were read


def test_every_surface_difference_is_listed(results, differences):
    found = {k: v for k, v in differences.items() if k.startswith("surface:")}
    missing = deviations.unlisted(found, ENTRIES)
    assert not missing, "names or signatures that differ from rel 0.4.9.27, and are not listed " \
        "in packages/rel/DEVIATIONS.md:\n" + _explain(missing)


@pytest.mark.parametrize("program", compare.program_names())
def test_program_ran_to_its_end_under_both(results, program):
    for who, trace in zip(("rel 0.4.9.27", "this project"), results["traces"][program]):
        assert len(trace) > 3 and trace[-1] == "exit: 0", "%s under %s:\n%s" % (
            program, who, "\n".join(trace[-10:]))
        assert not any(line.startswith("watchdog:") for line in trace)


@pytest.mark.parametrize("program", compare.program_names())
def test_every_trace_difference_is_listed(results, program):
    orig, ours = results["traces"][program]
    missing = deviations.unlisted(compare.trace_differences(program, orig, ours), ENTRIES)
    assert not missing, "lines of %s.py that differ from rel 0.4.9.27's, and are not listed in " \
        "packages/rel/DEVIATIONS.md (- rel 0.4.9.27, + ours):\n%s" % (program, _explain(missing))


def test_no_listed_deviation_is_stale(differences):
    gone = deviations.stale(differences, ENTRIES)
    assert not gone, "listed in packages/rel/DEVIATIONS.md but no longer found: remove them:\n" \
        + "\n".join(gone)
