"""Sending from other threads: ``python ws_threads.py wss://HOST:PORT [CA_FILE]``.

The app runs on rel's loop; a worker thread sends with ``app.send``, which with
``dispatcher=rel`` queues the frame on rel's buffered writer (``rel.buffwrite``):
safe from any thread, the bytes go out in the loop's thread, in order.
"""

import sys
import threading

import rel
import websocket

echoes = []


def worker(app):
    for i in range(3):
        app.send("message %d from a thread" % i)


def on_open(app):
    threading.Thread(target=worker, args=(app,), daemon=True).start()


def on_message(app, message):
    echoes.append(message)
    if len(echoes) == 3:
        rel.abort()


def main(base, ca_file=None):
    app = websocket.WebSocketApp(base + "/echo", on_open=on_open, on_message=on_message)
    # reconnect=N: after a lost connection, try again every N seconds (on rel's loop)
    app.run_forever(dispatcher=rel, sslopt={"ca_certs": ca_file} if ca_file else None, reconnect=1)
    rel.signal(2, rel.abort)
    rel.timeout(30, rel.abort)  # a bound, for the example
    rel.dispatch()
    print("\n".join(echoes))


if __name__ == "__main__":
    main(*sys.argv[1:3])
