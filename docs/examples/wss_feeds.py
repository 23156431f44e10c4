"""Ten wss:// feeds on one rel loop: ``python wss_feeds.py wss://HOST:PORT [CA_FILE]``.

Each feed is a websocket-client ``WebSocketApp`` run with ``dispatcher=rel``:
they all share rel's one loop and thread. The example, which reads three
messages, ends the loop as soon as all ten have them (a real program keeps
its feeds until Ctrl-C).
"""

import sys

import rel
import websocket

FEEDS = ["feed-%d" % i for i in range(10)]
MESSAGES = 3
received = {name: [] for name in FEEDS}


def on_message(app, message):
    """Called in rel's loop thread, one message at a time, whichever feed it comes from."""
    received[app.url.rsplit("/", 1)[1]].append(message)
    if all(len(got) >= MESSAGES for got in received.values()):
        rel.abort()  # every feed has its messages: end dispatch()


def main(base, ca_file=None):
    # Trust the local server's test CA; for a real wss:// feed, leave sslopt out:
    # the system's CA store is used.
    sslopt = {"ca_certs": ca_file} if ca_file else None
    for name in FEEDS:
        app = websocket.WebSocketApp("%s/%s" % (base, name), on_message=on_message)
        app.run_forever(dispatcher=rel, sslopt=sslopt)  # returns at once: rel runs it
    rel.signal(2, rel.abort)  # Ctrl-C
    rel.timeout(30, rel.abort)  # a bound, for the example: give up after 30 s
    rel.dispatch()
    for name in FEEDS:
        print(name, received[name])


if __name__ == "__main__":
    main(*sys.argv[1:3])
