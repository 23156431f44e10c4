"""Exceptions that rel's users catch or raise."""


class AbortBranch(Exception):
    """Raised by :func:`rel_core.abort_branch` inside a callback.

    The loop swallows it and goes on: a way out of a deep call stack without
    stopping the loop. The watcher whose callback raised it is left as it was
    (an I/O watcher stays armed, a timer that fired is not re-armed).
    """


class FdSetSizeError(OSError, ValueError):
    """select() cannot watch one more fd (FD_SETSIZE), refused at registration.

    On POSIX an fd number too high for select()'s bitmap (other registrars
    have no such limit); on Windows a 513th socket (512 per select() list,
    counted in sockets, and no Windows registrar has more). An OSError, so
    that nothing is left registered, and a ValueError, which is what
    select() itself raises.
    """
