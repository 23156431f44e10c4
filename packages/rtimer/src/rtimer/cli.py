"""The ``rtimer`` command: ``rtimer [seconds] [minutes] [hours] [update_increment]``.

Exit status: 0 when the time is up, 130 when stopped by Ctrl-C, 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

import rel_core as rel

from ._version import __version__
from .alarm import PLAYERS, RT_MEDIA
from .timer import Timer

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

USAGE = "rtimer [options] [seconds] [minutes] [hours] [update_increment]"
DESCRIPTION = """\
Count down, then sound an alarm. All amounts are whole numbers and default to 0;
the countdown lasts seconds + minutes + hours. On a terminal one live line shows
a progress bar, the elapsed and the remaining time; otherwise (piped, logged) a
plain line is printed every update_increment seconds (0: none). If any of
-s/-m/-r/-i is given, update_increment defaults to 1."""
EPILOG = """\
examples:
  rtimer 15 30 2 60   2 h 30 min 15 s, a line every minute when piped
  rtimer 0 5          5 minutes
  rtimer -m 25        25 minutes, a line every second when piped

When the time is up, rtimer plays a random file of the media folder (-p) with
the first player found on PATH among:
  %s
Without media or without a player, it rings the terminal bell.

exit status: 0 time's up, 130 stopped by Ctrl-C, 2 bad input""" % (
    ", ".join(program for program, _ in PLAYERS),)

AMOUNTS = ("seconds", "minutes", "hours", "increment")


def whole_number(text: str) -> int:
    """argparse type: a non-negative integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % (text,))
    if value < 0:
        raise argparse.ArgumentTypeError("%r is negative" % (text,))
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtimer", usage=USAGE, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("seconds", "minutes", "hours"):
        parser.add_argument("pos_" + name, metavar=name, nargs="?", type=whole_number,
                                 help="%s to count down" % (name,))
    parser.add_argument("pos_increment", metavar="update_increment", nargs="?",
                             type=whole_number, help="seconds between two printed lines when "
                             "stdout is not a terminal")
    parser.add_argument("-s", "--seconds", type=whole_number, metavar="N", help="seconds")
    parser.add_argument("-m", "--minutes", type=whole_number, metavar="N", help="minutes")
    parser.add_argument("-r", "--hours", type=whole_number, metavar="N", help="hours")
    parser.add_argument("-i", "--increment", type=whole_number, metavar="N",
                        help="update increment in seconds (default with any of -s/-m/-r/-i: 1)")
    parser.add_argument("-p", "--path", metavar="FOLDER", default=None,
                        help="folder of alarm media (default: %s)" % (RT_MEDIA,))
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the end")
    parser.add_argument("--no-sound", dest="sound", action="store_false",
                        help="no alarm: neither media nor bell")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log rel's events and its debug-mode warnings (slow callbacks, "
                             "loop lag) to stderr")
    parser.add_argument("--version", action="version", version="rtimer " + __version__)
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line into ``seconds minutes hours increment path quiet
    sound verbose``. Bad input: usage and one line on stderr, SystemExit(2)."""
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    # A positional amount wins unless it is 0; then its flag's value (as rel).
    flagged = any(getattr(args, name) is not None for name in AMOUNTS)
    for name in AMOUNTS:
        value = getattr(args, "pos_" + name) or getattr(args, name)
        if value is None:
            value = 1 if name == "increment" and flagged else 0
        setattr(args, name, value)
        delattr(args, "pos_" + name)
    if not (args.seconds or args.minutes or args.hours):
        parser.error("nothing to count down: give some seconds, minutes or hours")
    if args.path is None:
        args.path = RT_MEDIA
    else:
        args.path = os.path.expanduser(args.path)
        if not os.path.isdir(args.path):
            parser.error("-p/--path: %r is not a folder" % (args.path,))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run rtimer with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        return run(argv)
    except KeyboardInterrupt:  # a Ctrl-C before rel's handler is in place, or after
        return EXIT_INTERRUPTED


def run(argv: Optional[List[str]] = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version, or bad input
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.verbose:
        rel.initialize(options=["verbose", "debug"])
    timer = Timer(args.seconds, args.minutes, args.hours, args.increment, args.path,
                  quiet=args.quiet, sound=args.sound)
    try:
        timer.start()
    except BrokenPipeError:  # stdout closed by its reader (rtimer 60 | head -1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 1
    return EXIT_INTERRUPTED if timer.interrupted else EXIT_OK


def timerCLI() -> int:
    """rel 0.4.9.27's entry point (``rel.tools.timerCLI``): parse ``sys.argv``,
    run, return the exit status."""
    return main()
