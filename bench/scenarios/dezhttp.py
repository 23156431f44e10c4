"""dez's HTTP hello-world sample (dez 0.10.10.56) under load: requests/s and latency.

The server is dez's own sample, started as its users start it, by dez's
``dez_test`` entry point: ``dez_test httpd_hello_world -p PORT -d 127.0.0.1 -e
METHOD -s``, in a subprocess of this interpreter (so on whichever rel this
interpreter has: rel 0.4.9.27 for ``rel0``, this project for ``rel:NAME``).
Only the contenders ``rel0``, ``rel:NAME`` and ``floor`` run here. ``floor`` is
no engine but the yardstick: dez on ``floor_rel/rel``, a bare epoll loop with
just the part of rel's API that dez calls (see its docstring), first on the
server's ``sys.path``; what it reaches bounds what any engine could.

The load: for each ``--connections`` count, ``wrk`` (when it is on PATH) with
one thread, that many keep-alive connections (``Connection: keep-alive``,
which dez needs to keep a connection open) for ``--duration`` seconds, GET
/index; or, without wrk, a bounded Python client (one process, a selectors
loop over the same number of keep-alive connections, each sending its next
request when the previous response is complete). Every response must be 200
with the sample's body: wrk's non-2xx count and socket errors, or the Python
client's mismatches, are reported, and a run with any is an error.

Output: for each count N, ``rate_N`` (requests/s), ``p50_ms_N``, ``p99_ms_N``,
``requests_N``, ``cpu_us_N`` (the server's CPU time per request, from
/proc/PID/stat; absent elsewhere), and ``tool`` (wrk or python).
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from _common import Unavailable, parser, percentile, run_main

BODY = b"Aloha Des!!"
PATH = "/index"
START_TIMEOUT = 30.0
FLOOR_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "floor_rel")

SERVER = (
    "import sys\n"
    "from dez.samples.test import main\n"
    "sys.argv = ['dez_test', 'httpd_hello_world', '-p', sys.argv[1], '-d', '127.0.0.1',\n"
    "            '-e', sys.argv[2], '-s']\n"
    "main()\n"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(method, path=None):
    """dez_test httpd_hello_world on a free port, with ``path`` first on its
    sys.path when given; (process, port) once it accepts."""
    try:
        import dez  # noqa: F401  (only to say n/a rather than fail)
    except ImportError as exc:
        raise Unavailable("dez not installed in %s: %s" % (sys.executable, exc)) from None
    port = free_port()
    errors = tempfile.TemporaryFile()  # a file, not a pipe: nothing the server says can block it
    env = None
    if path is not None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), method], stdout=subprocess.DEVNULL,
                            stderr=errors, env=env)
    proc.errors = errors
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("dez server exited: %s" % server_errors(proc))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("dez server not listening after %.0f s" % START_TIMEOUT)


def cpu_seconds(proc):
    """The server's CPU time so far (user + system), or None where /proc is missing."""
    try:
        with open("/proc/%d/stat" % proc.pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_errors(proc):
    proc.errors.seek(0)
    return proc.errors.read().decode(errors="replace")[-500:]


def stop_server(proc):
    alive = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if not alive:
        raise SystemExit("dez server died under load: %s" % server_errors(proc))


# -- wrk --------------------------------------------------------------------------------------

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        raise ValueError("unparsable latency %r" % (text,))
    return float(m.group(1)) * UNITS[m.group(2)]


def run_wrk(port, connections, duration):
    cmd = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % max(1, round(duration)), "--latency",
           "-H", "Connection: keep-alive", "http://127.0.0.1:%d%s" % (port, PATH)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    text = out.stdout
    if out.returncode != 0:
        raise SystemExit("wrk failed: %s" % (out.stderr or text)[-300:])
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    if not (rate and total and p50 and p99):
        raise SystemExit("unparsable wrk output: %r" % text[-500:])
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if bad or errors:
        raise SystemExit("wrk saw failures: %s %s" % (bad.group(0) if bad else "",
                                                      errors.group(0) if errors else ""))
    return {"rate": float(rate.group(1)), "requests": int(total.group(1)), "p50_ms": ms(p50.group(1)),
            "p99_ms": ms(p99.group(1))}


# -- the Python client (no wrk) ---------------------------------------------------------------


class Client:
    """One keep-alive connection sending its next GET once the previous answer is complete."""

    def __init__(self, port, sel, latencies):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setblocking(False)
        self.request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: keep-alive\r\n\r\n"
                        % (PATH, port)).encode()
        self.buf = b""
        self.latencies = latencies
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, self)

    def send(self):
        self.sent = time.perf_counter()
        self.sock.sendall(self.request)

    def readable(self):
        """Read; True when one whole response arrived (checked: 200 and the body)."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("dez closed a keep-alive connection")
        self.buf += chunk
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        if not sep:
            return False
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        if m is None:
            raise SystemExit("response without Content-Length: %r" % head[:200])
        size = int(m.group(1))
        if len(rest) < size:
            return False
        if not head.startswith(b"HTTP/1.1 200") or rest[:size] != BODY:
            raise SystemExit("wrong response: %r" % (head[:100] + b" / " + rest[:size]))
        self.buf = rest[size:]
        self.latencies.append(time.perf_counter() - self.sent)
        return True


def run_python_client(port, connections, duration):
    sel = selectors.DefaultSelector()
    latencies = []
    clients = [Client(port, sel, latencies) for _ in range(connections)]
    start = time.perf_counter()
    end = start + duration
    for c in clients:
        c.send()
    while time.perf_counter() < end:
        for key, _ in sel.select(1.0):
            c = key.data
            if c.readable():
                c.send()
    elapsed = time.perf_counter() - start
    for c in clients:
        c.sock.close()
    sel.close()
    lat = sorted(latencies)
    return {"rate": len(lat) / elapsed, "requests": len(lat), "p50_ms": percentile(lat, 50) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3}


def main():
    p = parser(__doc__)
    p.add_argument("--connections", default="1,50", help="comma-separated connection counts")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of load per connection count")
    p.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    args = p.parse_args()
    path = None
    if args.contender == "rel0":
        method = "epoll"
    elif args.contender.startswith("rel:"):
        method = args.contender[4:]
    elif args.contender == "floor":
        method, path = "epoll", FLOOR_PATH
    else:
        raise Unavailable("dez runs on rel: contenders rel0, rel:NAME and floor only")
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    load = run_wrk if tool == "wrk" else run_python_client
    proc, port = start_server(method, path)
    result = {"tool": tool, "method": method}
    try:
        # warm-up: imports done, caches filled, and a check that the sample answers right
        run_python_client(port, 1, 0.3)
        for n in [int(x) for x in args.connections.split(",")]:
            cpu0 = cpu_seconds(proc)
            r = load(port, n, args.duration)
            cpu1 = cpu_seconds(proc)
            if cpu0 is not None and cpu1 is not None and r["requests"]:
                r["cpu_us"] = (cpu1 - cpu0) / r["requests"] * 1e6
            for k, v in r.items():
                result["%s_%d" % (k, n)] = v
    finally:
        stop_server(proc)
    return result


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    run_main(main)
