"""The alarm: a random file from the media folder, played by the first player
found on PATH, or the terminal bell.

Players are always started with an argument list, never through a shell, and
the media path is absolute, so that no file name (``$(rm -rf ~).mp3``,
``-o evil``) is ever read as shell code or as an option.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from typing import List, Optional, Sequence, TextIO, Tuple

#: the default media folder
RT_MEDIA = os.path.join(os.path.expanduser("~"), ".rtimer")

#: (program, arguments before the file): tried in this order. Each plays the
#: file once, without a window or keyboard control, and exits.
PLAYERS: Sequence[Tuple[str, Tuple[str, ...]]] = (
    ("mpv", ("--no-video", "--no-terminal")),
    ("ffplay", ("-nodisp", "-autoexit", "-loglevel", "quiet")),
    ("paplay", ()),
    ("aplay", ("-q",)),
    ("mplayer", ("-really-quiet", "-vo", "null")),
    ("afplay", ()),
)

BELL = "\a"

WINDOWS = sys.platform == "win32"
#: Windows has no command-line player of its own, but every CPython there has
#: winsound, which plays WAV files: this Python runs it, the file as its argument.
WINSOUND = (sys.executable, "-c",
            "import sys, winsound; winsound.PlaySound(sys.argv[1], winsound.SND_FILENAME)")


def find_player(media: str = "") -> Optional[List[str]]:
    """The command line, but for the file, of the first player on PATH; on
    Windows, for a ``.wav`` file ``media``, winsound when none is."""
    for program, args in PLAYERS:
        path = shutil.which(program)
        if path:
            return [path, *args]
    if WINDOWS and media.lower().endswith(".wav"):
        return list(WINSOUND)
    return None


def pick_media(folder: Optional[str]) -> Optional[str]:
    """The absolute path of a random file in ``folder`` (hidden files and
    subfolders aside), or None when there is none or no such folder."""
    if not folder:
        return None
    folder = os.path.abspath(os.path.expanduser(folder))
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    files = [os.path.join(folder, name) for name in names if not name.startswith(".")]
    files = [path for path in files if os.path.isfile(path)]
    return random.choice(files) if files else None


def play(folder: Optional[str]) -> Tuple[Optional[subprocess.Popen], str]:
    """Start playing a random file of ``folder``. Returns the running player,
    or None and why not (an empty reason: there was no media to play)."""
    media = pick_media(folder)
    if media is None:
        return None, ""
    player = find_player(media)
    if player is None:
        return None, "no player found (%s%s)" % (", ".join(program for program, _ in PLAYERS),
                                                 "; winsound plays .wav files" if WINDOWS else "")
    try:
        return subprocess.Popen([*player, media], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), ""
    except OSError as exc:
        return None, "could not start %s: %s" % (player[0], exc.strerror or exc)


def bell(out: TextIO) -> None:
    """Ring the terminal bell."""
    out.write(BELL)
    out.flush()


def silence(player: subprocess.Popen, grace: float = 1.0) -> None:
    """Stop ``player`` if it still plays: terminate, then kill after ``grace`` s."""
    if player.poll() is not None:
        return
    player.terminate()
    try:
        player.wait(grace)
    except subprocess.TimeoutExpired:
        player.kill()
        player.wait()
