"""asyncio's event loop policies across Python versions: the one place rel reads them.

Python 3.14 deprecates the policy system: ``asyncio.get_event_loop_policy``,
``set_event_loop_policy`` and the policy classes (``WindowsProactorEventLoopPolicy``
among them, reached through ``asyncio.__getattr__``) warn, and 3.16 removes them
(What's New in Python 3.14, "Deprecated"). ``asyncio.new_event_loop()`` neither
warns nor changes: on 3.14 and 3.15 it still asks the policy, through the private
``asyncio.events._get_event_loop_policy``, so a policy such as ``uvloop.install()``'s
still picks the loop rel makes for itself. ``uvloop.run()`` and
``asyncio.run(main, loop_factory=...)`` (3.12+), the ways 3.14 recommends, set no
policy: they run their loop, and rel joins the running loop.
"""

from __future__ import annotations

import asyncio
import sys

POLICIES_DEPRECATED = sys.version_info >= (3, 14)


def proactor_by_default() -> bool:
    """Whether ``asyncio.new_event_loop()`` would make Windows' proactor loop,
    which has no ``add_reader``; False off Windows. From 3.14 on, the policy is
    read as ``new_event_loop()`` reads it, without the DeprecationWarning of the
    public accessors."""
    if sys.platform != "win32":
        return False
    if not POLICIES_DEPRECATED:
        return isinstance(asyncio.get_event_loop_policy(), asyncio.WindowsProactorEventLoopPolicy)
    get_policy = getattr(asyncio.events, "_get_event_loop_policy", None)
    if get_policy is None:  # no policies left (3.16): Windows' default loop is the proactor
        return True
    windows_events = sys.modules.get("asyncio.windows_events")
    return isinstance(get_policy(), getattr(windows_events, "_WindowsProactorEventLoopPolicy", ()))
