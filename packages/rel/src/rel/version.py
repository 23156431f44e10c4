"""rel 0.4.9.27's ``rel.version`` path: the package version."""

from ._version import __version__  # noqa: F401
