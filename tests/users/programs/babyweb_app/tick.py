"""The cron rule's handler: one line per run in ticks.log, the wall-clock time it ran."""

import time

from babyweb import respond


def response():
    with open("ticks.log", "a") as f:
        f.write("%f\n" % time.time())


respond(response)
