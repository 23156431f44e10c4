"""rel 0.4.9.27's ``rel.errors`` path."""

from rel_core.errors import AbortBranch  # noqa: F401
