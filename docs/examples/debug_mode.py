"""Seeing what the loop does: debug mode names a slow callback, report() gives the figures."""

import logging
import sys
import time

import rel_core as rel

# Debug mode's lines are WARNINGs on the "rel" logger; send them to stdout for this example.
logging.basicConfig(stream=sys.stdout, format="%(message)s")
rel.initialize(options=["debug"])  # or: REL_DEBUG=1 python app.py


def slow():
    time.sleep(0.2)  # blocks the loop: every other watcher waits meanwhile


def fast():
    return None


rel.timeout(0.01, slow)
rel.timeout(0.02, fast)
rel.timeout(0.3, rel.abort)
rel.dispatch()

figures = rel.report()
print("figures:", ", ".join(sorted(figures)))
print("slowest:", figures["slowest"][0][0])
