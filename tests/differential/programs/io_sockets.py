"""read/write/error on socketpairs: echo, two watchers on one fd, delete inside a
callback, safe_read(), peer close."""

import socket

import rel
from _difftrace import dispatch, out, pending

seen = []

# an echo: a's read watcher answers on a, b's read watcher collects
a, b = socket.socketpair()


def on_a():
    data = a.recv(100)
    seen.append(("a", data))
    a.send(data.upper())
    return False


def on_b():
    seen.append(("b", b.recv(100)))
    return False


rel.read(a, on_a)
rel.read(b.fileno(), on_b)  # an int fd works as well as the socket
b.send(b"ping")
dispatch(rel, "echo_dispatch")
out("echo", seen)
del seen[:]

# a second read watcher on the same fd replaces the first
first = rel.read(a, lambda: seen.append("first") or False)
second = rel.read(a, lambda: seen.append(("second", a.recv(10))) or False)
b.send(b"x")
dispatch(rel, "replace_dispatch")
out("replace", seen, pending(first), pending(second))
del seen[:]

# a callback deletes another watcher that is ready in the same pass
c, d = socket.socketpair()
watchers = {}


def deleter(tag, other):
    seen.append(tag)
    watchers[other].delete()
    return False


watchers["a"] = rel.read(a, deleter, "a", "c")
watchers["c"] = rel.read(c, deleter, "c", "a")
b.send(b"1")
d.send(b"1")
dispatch(rel, "delete_other_dispatch")
out("delete_other_ran", len(seen))
out("delete_other_pending", pending(watchers["a"]), pending(watchers["c"]))
a.recv(10)
c.recv(10)
del seen[:]

# truthy keeps a write watcher; persistent() keeps it whatever it returns
count = {"n": 0}


def writes():
    count["n"] += 1
    return count["n"] < 3


rel.write(a, writes)
dispatch(rel, "write_truthy_dispatch")
out("write_truthy_calls", count["n"])
count["n"] = 0


def persistent_writes():
    count["n"] += 1
    if count["n"] == 3:
        ww.delete()
    return False


ww = rel.write(a, persistent_writes)
ww.persistent()
dispatch(rel, "write_persistent_dispatch")
out("write_persistent_calls", count["n"])

# safe_read(): extra args are dropped
rel.safe_read()
rel.read(a, lambda *args: seen.append(args) or a.recv(10) and False, "dropped")
b.send(b"y")
dispatch(rel, "safe_read_dispatch")
out("safe_read_args", seen)
del seen[:]

# the peer closes: read sees EOF, an error watcher hears the hang-up
def on_close():
    seen.append(("read", a.recv(10)))
    return False


rel.read(a, on_close)
rel.error(a, lambda: seen.append(("error",)) or False)
b.close()
dispatch(rel, "peer_close_dispatch", 1.0)
out("peer_close", sorted(seen))
del seen[:]

# dereference(): deleted, callback dropped
x = rel.read(c, lambda: seen.append("never"))
x.dereference()
out("dereference_pending", pending(x))
d.send(b"z")
dispatch(rel, "dereference_dispatch", 1.0)
out("dereference", seen)
out("report_after", {k: rel.report()[k] for k in ("timers", "signals", "reads", "writes")})

# add(delay): also run the callback once after the delay if still armed (nothing to read)
e, f = socket.socketpair()
late = rel.read(e, lambda *args: seen.append("by delay") or False)  # safe_read() is on
late.delete()
late.add(0.02)
dispatch(rel, "add_delay_dispatch", 1.0)
out("add_delay", seen, pending(late))
del seen[:]
