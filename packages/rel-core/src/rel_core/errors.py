"""Exceptions that rel's users catch or raise."""


class AbortBranch(Exception):
    """Raised by :func:`rel_core.abort_branch` inside a callback.

    The loop swallows it and goes on: a way out of a deep call stack without
    stopping the loop. The watcher whose callback raised it is left as it was
    (an I/O watcher stays armed, a timer that fired is not re-armed).
    """
