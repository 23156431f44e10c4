"""read/write/error on pipes: data, EOF, a write end whose reader went away."""

import os

import rel
from _difftrace import dispatch, out, pending

seen = []

# data: a read watcher fires, truthy keeps it, falsy deletes it
r, w = os.pipe()
os.write(w, b"ab")


def on_read(tag):
    data = os.read(r, 1)
    seen.append((tag, data))
    return len(seen) < 2


reader = rel.read(r, on_read, "r")
out("read_type", type(reader).__name__)
out("read_pending", pending(reader))
dispatch(rel, "data_dispatch")
out("data", seen)
out("read_pending_after", pending(reader))
del seen[:]

# EOF: the write end closes, the read watcher sees it (os.read gives b"")
os.close(w)


def on_eof():
    seen.append(os.read(r, 10))
    return False


eof = rel.read(r, on_eof)
# rel 0.4.9.27 never sees this EOF (see DEVIATIONS.md): a timer ends its dispatch
rel.timeout(1.0, rel.abort)
dispatch(rel, "eof_dispatch")
out("eof", seen)
out("eof_pending_after", pending(eof))
os.close(r)
del seen[:]

# write: a pipe's write end is writable at once; falsy return deletes the watcher
r, w = os.pipe()
writer = rel.write(w, lambda: seen.append(os.write(w, b"xyz")))
dispatch(rel, "write_dispatch")
out("write", seen, os.read(r, 10))
out("write_pending_after", pending(writer))
del seen[:]

# error: the read end closes; an error() watcher on the write end
os.close(r)
err = rel.error(w, lambda: seen.append("error") or False)
out("error_pending", pending(err))
dispatch(rel, "error_alone_dispatch", 1.0)
out("error_alone", seen)
err.delete()
del seen[:]

# the same with a write watcher beside it: writing raises EPIPE
def on_write():
    try:
        os.write(w, b"x")
        seen.append("wrote")
    except OSError as exc:
        seen.append(type(exc).__name__)
    return False


rel.write(w, on_write)
rel.error(w, lambda: seen.append("error") or False)
dispatch(rel, "error_with_write_dispatch", 1.0)
out("error_with_write", sorted(seen))
os.close(w)
out("report_after", {k: rel.report()[k] for k in ("timers", "signals", "reads", "writes")})
