"""buffwrite/release_buff: whole payloads through partial senders, errors, release."""

import socket

import rel
from _difftrace import attempt, dispatch, out

a, b = socket.socketpair()
b.setblocking(False)
errors = []
kinds = set()


def drain():
    got = b""
    while True:
        try:
            chunk = b.recv(1 << 20)
        except BlockingIOError:
            return got
        if not chunk:
            return got
        got += chunk


def whole(sock, data):
    kinds.add(type(data).__name__)
    return sock.send(data)


# a small payload with socket.send: all of it arrives
attempt("buffwrite", rel.buffwrite, a, b"hello", whole, errors.append)
rel.timeout(0.1, rel.pause)
dispatch(rel, "small_dispatch")
out("small", drain())
out("sender_gets", sorted(kinds))


# a sender that takes at most 3 bytes a call, as a full socket does
def partial(sock, data):
    return sock.send(data[:3])


c, d = socket.socketpair()
d.setblocking(False)
payload = bytes(range(256)) * 40  # 10 KiB
received = []


def receive():
    received.append(d.recv(1 << 20))
    if sum(map(len, received)) >= len(payload) + 5:
        rel.pause()
    return True


reader = rel.read(d, receive)
rel.buffwrite(c, payload, partial, errors.append)
rel.buffwrite(c, b"|tail", partial, errors.append)
# rel 0.4.9.27 loses data (see DEVIATIONS.md), so it would wait for ever: a timer ends it
stop = rel.timeout(3.0, rel.pause)
dispatch(rel, "partial_dispatch", 10.0)
stop.delete()
reader.delete()
got = b"".join(received)
out("partial_len", len(got), len(payload) + 5)
out("partial_intact", got == payload + b"|tail")
out("partial_errors", errors)


# a sender that fails: onerror gets the message, once
def failing(sock, data):
    raise OSError("boom")


e, f = socket.socketpair()
rel.buffwrite(e, b"data", failing, errors.append)
rel.timeout(0.1, rel.pause)
dispatch(rel, "error_dispatch")
out("onerror", errors)
del errors[:]

# release_buff: queued data is dropped; the next buffwrite starts afresh
attempt("release", rel.release_buff, a)
attempt("release_unknown", rel.release_buff, f)
rel.buffwrite(a, b"again", whole, errors.append)
rel.timeout(0.1, rel.pause)
dispatch(rel, "again_dispatch")
out("after_release", drain(), errors)
