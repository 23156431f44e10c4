"""A websocket-client program on rel, written as its users write one.

``python ws_reconnect_app.py URL TIMEOUT``: one WebSocketApp on
``dispatcher=rel`` that reconnects every second, with websocket-client's
default socket timeout set to TIMEOUT seconds. It prints ``opened`` on each
connection. test_debug_reconnect.py runs it unchanged, under ``REL_DEBUG=1``.
"""

import sys

import rel
import websocket


def on_open(app):
    print("opened", flush=True)


def on_error(app, error):
    print("error", error, flush=True)


if __name__ == "__main__":
    websocket.setdefaulttimeout(float(sys.argv[2]))
    app = websocket.WebSocketApp(sys.argv[1], on_open=on_open, on_error=on_error)
    app.run_forever(dispatcher=rel, reconnect=1)
    rel.signal(2, rel.abort)
    rel.dispatch()
