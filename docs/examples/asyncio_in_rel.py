"""An asyncio library inside a rel program: aio.run() runs a coroutine, its outcome is a rel callback."""

import asyncio

import rel
from rel_core import aio


async def lookup(name):  # any coroutine: an asyncio client library's call, for instance
    await asyncio.sleep(0.05)
    return name.upper()


def got(result, label):
    print(label, result)


def failed(exc, label):
    print(label, "failed:", exc)


def start():
    aio.run(lookup("rel"), got, "first:", onerror=failed)
    aio.run(lookup(42), got, "second:", onerror=failed)  # 42.upper() raises: onerror gets it


rel.initialize(["asyncio"])  # the old program's rel.dispatch() runs an asyncio loop
rel.timeout(0, start)  # falsy return: a one-shot timer
rel.dispatch()  # ends once both coroutines are done
print("dispatch returned")
