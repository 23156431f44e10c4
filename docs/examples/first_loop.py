"""The first loop: a socket watcher, a repeating timer, and a timer that ends it all."""

import socket

import rel  # or, with only rel-core installed: import rel_core as rel

server, client = socket.socketpair()
sent = []


def on_readable():
    print("got", server.recv(100))
    return True  # truthy: keep watching; falsy: stop


def tick():
    sent.append(len(sent) + 1)
    client.send(b"tick %d" % len(sent))
    return len(sent) < 3  # truthy: run again after the same delay


def done():
    print("done after", len(sent), "ticks")
    rel.abort()  # stop dispatch() and drop the I/O watchers


rel.read(server, on_readable)  # watch a socket (or an int fd)
rel.timeout(0.1, tick)  # run tick every 0.1 s while it returns True
rel.timeout(0.5, done)
rel.signal(2, rel.abort)  # Ctrl-C ends the loop cleanly
rel.dispatch()  # run until abort(), or until nothing is registered
