"""A web server on dez, on rel's loop: ``python dez_hello.py [PORT]``.

For the example, a thread asks it for one page with urllib, prints the answer
and ends the loop; a real server runs until Ctrl-C.
"""

import sys
import threading
import urllib.request

import rel
from dez.http.server import HTTPDaemon, HTTPResponse


def hello(request):  # dez calls this in rel's loop thread, for each request under /hello
    response = HTTPResponse(request)
    response.write("Aloha from dez on rel")
    response.dispatch()


def ask(port):  # another thread, as a browser would be another program
    with urllib.request.urlopen("http://127.0.0.1:%d/hello" % port, timeout=10) as reply:
        print(reply.status, reply.read().decode())
    rel.abort()  # safe from any thread: the loop wakes and stops


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
HTTPDaemon("127.0.0.1", port).register_prefix("/hello", hello)
threading.Thread(target=ask, args=(port,), daemon=True).start()
rel.signal(2, rel.abort)
rel.dispatch()
