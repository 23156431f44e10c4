"""cantools (distribution ``ct``), run with its own commands, on this rel.

- ``ctutil admin memcreep``: the seed documentation's example, a ``rel.timeout``
  loop with ``rel.signal(2, rel.abort)``, stopped by SIGINT.
- ``cantools.util.init_rel()``: set_sleep, set_turbo, initialize, set_verbose,
  loudListen from ct.cfg's REL_* keys (programs/ct_init_rel.py, which calls it as
  cantools' servers do).
- ``ctpubsub``: its pubsub WebSocket server (a dez WebSocketDaemon), with
  websocket-client clients registering, subscribing and publishing. It asks for
  an admin password through its config cache (fyg's PCache, the file ``.ctp`` in
  its working directory): the test preseeds that file, as a deployment does.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys

import websocket

from users_support import assert_clean_exit, command, free_port

PROGRAMS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "programs")
REL_CFG = "\n".join([
    "REL_SLEEP = 0.01",
    "REL_TURBO = 0.001",
    "REL_METHOD = epoll",
    "REL_VERBOSE = False",
    "REL_LOUDLISTEN = True",
]) + "\n"


def preseed_ctp(directory, answers):
    """Write cantools' config cache: base64 of JSON mapping base64(prompt) to base64(answer)."""
    enc = lambda s: base64.b64encode(s.encode()).decode()
    data = json.dumps({enc(k): enc(v) for k, v in answers.items()})
    (directory / ".ctp").write_text(base64.b64encode(data.encode()).decode())


def test_memcreep_stopped_by_sigint(program):
    p = program([command("ctutil"), "admin", "memcreep"], name="memcreep")
    p.wait_output("dur: 3 ;")  # one line a second: rel.timeout(1, creep) re-armed by its True
    p.stop(signal.SIGINT)
    assert_clean_exit(p, 0)  # rel.signal(2, rel.abort): dispatch() returns, the program ends
    lines = [line for line in p.stdout.splitlines() if line.startswith("dur: ")]
    assert [line.split(" ; ")[0] for line in lines] == ["dur: %d" % n for n in range(2, 2 + len(lines))]


def test_init_rel_from_ct_cfg(program, tmp_path):
    # verbose, so that loudListen's "no one's listening" is logged
    (tmp_path / "ct.cfg").write_text(REL_CFG.replace("REL_VERBOSE = False", "REL_VERBOSE = True"))
    p = program([sys.executable, os.path.join(PROGRAMS, "ct_init_rel.py")], name="init_rel")
    p.wait(60)
    assert_clean_exit(p, 0)
    out = p.stdout
    assert "initialized rel with: epoll" in out, repr(p)
    assert "sleep 0.01 turbo 0.001" in out, repr(p)
    # rel 0.4.9.27 prints it; this project logs it (rel_core's logger, on stderr)
    assert "emit(nobody-listens): no one's listening" in out + p.stderr, repr(p)
    assert "fired [1, 2, 3]" in out, repr(p)


def ws_json(ws):
    return json.loads(ws.recv())


def test_ctpubsub_subscribe_publish(program, tmp_path):
    (tmp_path / "ct.cfg").write_text(REL_CFG)
    preseed_ctp(tmp_path, {"admin password? ": "s3cret"})
    port = free_port()
    server = program([command("ctpubsub"), "-d", "127.0.0.1", "-p", str(port)], name="ctpubsub")
    server.wait_port(port)
    url = "ws://127.0.0.1:%d/" % port
    alice = websocket.create_connection(url, timeout=10)
    bob = websocket.create_connection(url, timeout=10)
    try:
        for ws, name in ((alice, "alice"), (bob, "bob")):
            ws.send(json.dumps({"action": "register", "data": name}))
            ws.send(json.dumps({"action": "subscribe", "data": "lobby"}))
            joined = ws_json(ws)
            assert joined["action"] == "channel" and joined["data"]["channel"] == "lobby"
        assert sorted(joined["data"]["presence"]) == ["alice", "bob"]
        # the channel tells its members who joined
        seen = ws_json(alice)
        assert seen["action"] == "subscribe"
        assert (seen["data"]["user"], seen["data"]["channel"]) == ("bob", "lobby")
        for i in range(20):
            alice.send(json.dumps({"action": "publish", "data": {"channel": "lobby", "message": "m%d" % i}}))
            for ws in (alice, bob):  # PUBSUB_ECHO defaults to True: the publisher hears itself too
                got = ws_json(ws)
                assert got["action"] == "publish"
                assert (got["data"]["channel"], got["data"]["user"], got["data"]["message"]) == (
                    "lobby", "alice", "m%d" % i)
        bob.send(json.dumps({"action": "pm", "data": {"user": "alice", "message": "hi"}}))
        got = ws_json(alice)
        assert got["action"] == "pm" and got["data"] == {"user": "bob", "message": "hi",
                                                          "datetime": got["data"]["datetime"]}
        # an admin (name "__admin__..." ending in base64 of the preseeded password) gets a snapshot
        admin = websocket.create_connection(url, timeout=10)
        try:
            admin.send(json.dumps({"action": "register",
                                   "data": "__admin__x" + base64.b64encode(b"s3cret").decode()}))
            snap = ws_json(admin)
            assert snap["action"] == "snapshot"
            assert sorted(u["name"] for u in snap["data"]["users"]) == ["alice", "bob"]
            assert [c["name"] for c in snap["data"]["channels"]] == ["lobby"]
        finally:
            admin.shutdown()
    finally:
        alice.shutdown()
        bob.shutdown()
    assert server.proc.poll() is None, repr(server)
    server.stop(signal.SIGINT)
    assert_clean_exit(server, 0)  # dez's daemon: rel.signal(2, rel.abort)
    out = server.stdout
    assert "Initialized PubSub Server @ 127.0.0.1:%d" % port in out, repr(server)
    assert "initialized rel with: epoll" in out, repr(server)
