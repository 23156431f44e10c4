"""An old pyevent program, unchanged but for its first two lines."""

import rel

rel.override()  # from here on, "import event" gives pyevent's names, running on rel

import event  # noqa: E402  (pyevent's module, as the program always imported it)

ticks = []


def callback():
    ticks.append(len(ticks) + 1)
    print("tick", len(ticks))
    return len(ticks) < 3  # pyevent's rule: truthy re-arms the timeout


def stop(ev, handle, evtype, arg):  # pyevent's event() callback signature
    print("stop: evtype", evtype == event.EV_TIMEOUT and "EV_TIMEOUT", "arg", arg)
    event.abort()


event.timeout(0.05, callback)
event.event(stop, arg="bye").add(0.3)
event.dispatch()
