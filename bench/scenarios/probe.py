"""What this project offers in this interpreter: every registrar advertised in
the ``rel.registrars`` entry-point group, whether it runs here (loaded and
instantiated), whether rel_util's buffwrite is importable, and uvloop's version
(None without it)."""

from __future__ import annotations

import sys

from _common import emit


def _entry_point_names(group):
    from importlib import metadata

    if sys.version_info >= (3, 10):
        eps = metadata.entry_points(group=group)
    else:  # pragma: no cover
        eps = metadata.entry_points().get(group, ())
    return sorted({ep.name for ep in eps})


def _dist_version(dist):
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def main():
    out = {"registrars": {}, "rel_util": None, "rel_core": None}
    try:
        import rel_core
        from rel_core.discovery import load

        out["rel_core"] = rel_core.__version__
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        out["rel_core_error"] = "%s: %s" % (type(exc).__name__, exc)
        return out
    for name in _entry_point_names("rel.registrars"):
        try:
            registrar = load(name)()
        except Exception as exc:  # noqa: BLE001
            out["registrars"][name] = "%s: %s" % (type(exc).__name__, exc)
            continue
        out["registrars"][name] = "ok"
        close = getattr(registrar, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001
                pass
    try:
        import rel_util
        from rel_util.buff import buffwrite  # noqa: F401

        out["rel_util"] = getattr(rel_util, "__version__", None) or _dist_version("rel-util")
    except Exception as exc:  # noqa: BLE001
        out["rel_util_error"] = "%s: %s" % (type(exc).__name__, exc)
    out["uvloop"] = _dist_version("uvloop") if _importable("uvloop") else None  # a bench-only dependency
    return out


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    emit(main())
