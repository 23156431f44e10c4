"""Timers: order, equal deadlines, re-arm by return value, delete/add inside callbacks."""

import rel
from _difftrace import attempt, dispatch, out, pending

fired = []


def note(tag, result=None):
    fired.append(tag)
    return result


def flush(key):
    out(key, fired)
    del fired[:]


# order by deadline, whatever the order of creation
for delay, tag in ((0.06, "c"), (0.02, "a"), (0.04, "b")):
    rel.timeout(delay, note, tag)
dispatch(rel, "order_dispatch")
flush("order")

# equal deadlines: the order they were added in
for tag in "abcde":
    rel.timeout(0.02, note, tag)
dispatch(rel, "equal_dispatch")
flush("equal_deadlines")

# truthy return re-arms with the same delay, falsy ends it
count = {"n": 0}


def thrice():
    count["n"] += 1
    fired.append(count["n"])
    return count["n"] < 3


t = rel.timeout(0.01, thrice)
dispatch(rel, "rearm_dispatch")
flush("rearm_by_return")
out("rearm_pending_after", pending(t))

# a callback deletes a later timer and adds a new one
later = rel.timeout(0.05, note, "deleted-later")


def first():
    fired.append("first")
    later.delete()
    rel.timeout(0.01, note, "added-inside")


rel.timeout(0.01, first)
dispatch(rel, "delete_add_dispatch")
flush("delete_add_inside")
out("deleted_pending", pending(later))

# a timer deleting itself, and one re-armed by add() in its own callback
box = {}


def readd():
    fired.append("readd")
    if len(fired) < 2:
        box["t"].add(0.01)
    return False


box["t"] = rel.timeout(0.01, readd)
dispatch(rel, "readd_dispatch")
flush("readd_in_own_callback")

# unarmed timers: delay None, then add(); delete(); add() before dispatch fires once
u = rel.timeout(None, note, "unarmed")
out("none_pending", pending(u))
u.add(0.01)
out("none_added_pending", pending(u))
v = rel.timeout(0.01, note, "delete-add")
v.delete()
v.add(0.02)
dispatch(rel, "unarmed_dispatch")
flush("unarmed_then_added")

# a negative delay fires at once; args are passed through; the return of timeout()
w = attempt("timeout_returns", rel.timeout, -1, note, "negative")
out("timer_type", type(w).__name__)
out("pending_type", type(w.pending()).__name__)
dispatch(rel, "negative_dispatch")
flush("negative_delay")
# a negative delay reads back as given; its deadline is in the past, so it runs
# before a 0 armed first (deadline order)
rel.timeout(0, note, "zero, armed first")
for delay in (-0.5, -5, -2.5):
    out("negative_delay_value", delay, repr(rel.timeout(delay, note, delay).delay))
dispatch(rel, "negative_order_dispatch")
flush("negative_order")
rel.timeout(0, lambda *a: fired.append(a), 1, "two", None)
dispatch(rel, "args_dispatch")
flush("args")

# delete(True): dereference
d = rel.timeout(0.01, note, "dereferenced")
d.delete(True)
out("dereferenced_pending", pending(d))
dispatch(rel, "dereference_dispatch")
flush("dereference")
out("report_after", {k: rel.report()[k] for k in ("timers", "signals", "reads", "writes")})
