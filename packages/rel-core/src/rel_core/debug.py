"""Diagnostics: debug mode (``'debug'``, ``REL_DEBUG``) and the loop's own figures.

Debug mode says, on the ``rel`` logger at WARNING:

* which callback ran longer than the threshold (default 100 ms): its qualified
  name and ``file:line``, its watcher (fd and kind, timer delay, signal) and
  how long it took;
* when a pass runs its due timers later than their deadline by more than the
  threshold: the lag, and the callback that held the loop meanwhile;
* where a watcher dropped because its fd was closed while registered had been
  registered (the registration stack, kept only in debug mode);
* a busy loop: the loop has not blocked for a second and one watcher runs on
  nearly every pass doing nothing (a 0-second timer re-arming itself, an fd
  always ready whose callback leaves its bytes unread): once per culprit.

Measuring alone (the ``'report'`` option) adds the loop's figures to
``report()`` and warns about nothing.

Zero cost when off. Nothing in the loop tests whether debug is on, and this
module is not imported unless ``REL_DEBUG`` is set or something asks for it
(the facade imports it then). The engine does not import it either: once
imported, it adds ``on_build()`` to the engine's ``BUILD_HOOKS``.
Turning it on *substitutes* instrumented pieces on one registrar instance,
and turning it off puts the originals back:

* each watcher's callback is wrapped in a timing closure when it is armed
  (``_arm_io_here``, ``_arm_signal``, and the timer heap's ``push``, whose
  class is swapped for a subclass that also learns each deadline; and
  ``_direct_io`` is made false, which closes the engine's direct arming
  path, so that every arm passes ``_arm_io_here``). The loop
  calls the closure where it calls any callback, so what is measured is the
  one place callbacks are called, whatever drives the pass;
* the wait primitive ``_poller_wait`` is wrapped, to count passes, time the
  waiting and notice a loop that never blocks;
* ``_run_timers`` (lag), ``_forget``, where every dropped watcher passes (registration stacks) and ``report``.

``_run`` binds ``_poller_wait`` once per call: debug turned on from inside a
running loop times the waiting from the next ``dispatch()``/``loop()``; every
other measurement starts at once.

What a registrar must keep for this to work, whatever drives its passes (a
poller, or asyncio's loop): call callbacks as ``w.cb(*w.args)``, arm timers
through ``self._timers.push``, I/O through ``_arm_io_here`` and signals
through ``_arm_signal``, count passes in ``tick``, and wait in
``_poller_wait``. A registrar that waits elsewhere gets every message and
figure but ``wait_seconds`` and the busy-loop watch.

This module is the switch. The rest is in four modules, each with one job,
imported with this one: ``diagnostics.py`` (:class:`Diagnostics`: the
substitutes on one registrar, putting the originals back, the warnings and
the figures), ``instruments.py`` (what goes in the loop: each watcher's
timing closure, the timed wait, the watched timer heap), ``busy_loop.py``
(debug mode's wait and the busy-loop watch) and ``describe.py`` (naming
callbacks and watchers, registration stacks). Their names are importable from
here too; a tunable is read from its own module, so set it there
(``rel_core.busy_loop.BUSY_AFTER``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional

from . import registrar as _engine
from .busy_loop import BUSY_AFTER, BUSY_SHARE, BUSY_TIMER
from .describe import STACK_FRAMES, describe_callback, describe_watcher
from .diagnostics import LATENESS_SAMPLES, RECENT, SLOWEST, Diagnostics
from .instruments import ATTACHED
from .logs import logger

if TYPE_CHECKING:  # pragma: no cover
    from .registrar import Registrar

__all__ = [
    "BUSY_AFTER", "BUSY_SHARE", "BUSY_TIMER", "DEFAULT_THRESHOLD", "LATENESS_SAMPLES", "RECENT",
    "SLOWEST", "STACK_FRAMES", "Diagnostics", "apply", "attach", "describe_callback",
    "describe_watcher", "diagnostics", "disable", "enable", "on_build", "parse_env", "request",
]

#: slow-callback and lag threshold, in seconds, when none is given
DEFAULT_THRESHOLD = 0.1

# What initialize() asked for, applied to every registrar built afterwards:
# the debug threshold (None: debug off) and whether to measure.
_requested_threshold: Optional[float] = None
_requested_measure = False


# -- turning it on and off ------------------------------------------------------------
def parse_env(value: Optional[str]) -> Optional[float]:
    """The threshold ``REL_DEBUG=value`` asks for, or None (off).

    ``""`` and ``"0"``: off. ``"1"`` (or true/yes/on): on, at
    :data:`DEFAULT_THRESHOLD`. Any other positive number: on, with that
    threshold in seconds (``REL_DEBUG=0.05``; ``1.0`` means one second).
    Anything else: on at the default, with a warning.
    """
    text = (value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return None
    if text in ("1", "true", "yes", "on"):
        return DEFAULT_THRESHOLD
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0.0 or seconds == float("inf"):
        logger.warning("rel: REL_DEBUG=%r is not a number of seconds; debug mode on with "
                       "the default threshold (%g s)", value, DEFAULT_THRESHOLD)
        return DEFAULT_THRESHOLD
    return seconds


def on_build(reg: Registrar) -> None:
    """Called by every new registrar: apply ``REL_DEBUG`` (read now, so an
    unchanged program can be diagnosed) and what ``initialize()`` asked for."""
    threshold = parse_env(os.environ.get("REL_DEBUG"))
    if threshold is None:
        threshold = _requested_threshold
    if threshold is not None:
        attach(reg, threshold, warn=True)
    elif _requested_measure:
        attach(reg, DEFAULT_THRESHOLD, warn=False)


def request(debug: bool = False, measure: bool = False, threshold: Optional[float] = None) -> None:
    """Ask for debug mode (and measuring) on every registrar built from now on
    (the facade's ``initialize()`` options ``'debug'`` and ``'report'``)."""
    global _requested_threshold, _requested_measure
    if debug:
        env = parse_env(os.environ.get("REL_DEBUG"))
        _requested_threshold = threshold or env or _requested_threshold or DEFAULT_THRESHOLD
    if measure:
        _requested_measure = True


def apply(reg: Registrar) -> None:
    """Bring ``reg`` in line with what was requested (idempotent)."""
    if _requested_threshold is not None:
        attach(reg, _requested_threshold, warn=True)
    elif _requested_measure:
        attach(reg, DEFAULT_THRESHOLD, warn=False)


def enable(threshold: Optional[float] = None, registrar: Optional[Registrar] = None) -> Diagnostics:
    """Turn debug mode on, with ``threshold`` seconds (default: ``REL_DEBUG``'s,
    else 0.1), for ``registrar`` (default: the facade's, built if need be) and
    every registrar built from now on. Returns its :class:`Diagnostics`.

    ValueError for a threshold that is not a positive number.
    """
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
            raise ValueError("threshold must be a positive number of seconds, not %r" % (threshold,))
        threshold = float(threshold)
    request(debug=True, threshold=threshold)
    if registrar is None:
        registrar = _facade_registrar(build=True)
    assert _requested_threshold is not None
    return attach(registrar, _requested_threshold, warn=True)


def disable(registrar: Optional[Registrar] = None) -> None:
    """Turn debug mode and measuring off: for ``registrar`` (default: the
    facade's), and for registrars built from now on (``REL_DEBUG`` aside).
    Armed watchers get their own callbacks back; a watcher not armed now keeps
    a pass-through wrapper until the registrar is closed."""
    global _requested_threshold, _requested_measure
    _requested_threshold = None
    _requested_measure = False
    if registrar is None:
        registrar = _facade_registrar(build=False)
    diag = diagnostics(registrar) if registrar is not None else None
    if diag is not None:
        diag.detach()


def _facade_registrar(build: bool) -> Any:
    """The facade's registrar (made first with ``build``), through the hook the
    facade sets on the engine; None without one."""
    provider = _engine.facade_registrar
    return provider(build) if provider is not None else None


def diagnostics(reg: Registrar) -> Optional[Diagnostics]:
    """The :class:`Diagnostics` attached to ``reg``, or None (debug off)."""
    return reg.__dict__.get(ATTACHED)


def attach(reg: Registrar, threshold: float, warn: bool) -> Diagnostics:
    """Instrument ``reg`` (idempotent; ``warn`` upgrades measuring to debug)."""
    diag = diagnostics(reg)
    if diag is None:
        diag = Diagnostics(reg, threshold, warn)
        diag.install()
    elif warn:
        diag.start_warning(threshold)
    return diag


if on_build not in _engine.BUILD_HOOKS:  # imported again (a test's reload): attached once
    _engine.BUILD_HOOKS.append(on_build)
