"""A babyweb app started as cantools starts one (cantools.web.bw.run_bw):
babyweb's config, then initWebs() and run_dez_webserver(). Usage: serve.py PORT.

Run from the app's directory, which holds app.yaml (the routes), cron.yaml
(the schedule), the handlers (hello.py, tick.py), and cron.ts once a cron rule
ran (babyweb's timestamp file, which a restart fast-forwards from)."""

import sys

from babyweb.config import config

config.web.update("host", "127.0.0.1")
config.web.update("port", int(sys.argv[1]))

from babyweb.daemons import initWebs  # noqa: E402
from babyweb.server import run_dez_webserver  # noqa: E402

initWebs()
run_dez_webserver()
