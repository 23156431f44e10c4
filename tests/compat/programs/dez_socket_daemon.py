"""dez's shape: rel.override() in the package's __init__, initialize(['poll'],
['verbose']), then a SocketDaemon accepting connections with event.read and
serving each one, and clients on 127.0.0.1 talking to it through the same loop."""
# ruff: noqa: UP004, UP024, B006, E402  (written as its users wrote it)

import rel

rel.override()

import socket

import event

CLIENTS = 3
print("registrar", rel.initialize(["poll"], ["verbose"]), flush=True)


class SocketDaemon(object):  # dez.network.server, minus TLS and logging
    def __init__(self, hostname, port, cb=None, cbargs=[]):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((hostname, port))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.cb = cb
        self.cbargs = cbargs
        self.listen = event.read(self.sock, self.accept_connection)

    def accept_connection(self):
        try:
            sock, addr = self.sock.accept()
        except socket.error as e:
            print("abandoning connection on socket error: %s" % (e,))
            return True
        sock.setblocking(False)
        if self.cb:
            self.cb(sock, *self.cbargs)
        return True


def serve(sock, prefix):
    def on_data():
        data = sock.recv(4096)
        if not data:
            sock.close()
            return False
        reply = prefix + data

        def on_writable():
            sent = sock.send(reply)
            assert sent == len(reply)
            return False

        event.write(sock, on_writable)
        return True

    event.read(sock, on_data)


daemon = SocketDaemon("127.0.0.1", 0, serve, [b"echo:"])
replies = []


def client(n):
    c = socket.create_connection(("127.0.0.1", daemon.port))
    c.setblocking(False)
    c.send(b"hello %d" % n)

    def on_reply():
        replies.append(c.recv(4096).decode())
        print("client", n, "got", replies[-1], flush=True)
        c.close()
        if len(replies) == CLIENTS:
            event.abort()
        return False

    event.read(c, on_reply)


def guard():
    print("guard: stalled with", replies, flush=True)
    event.abort()


for n in range(CLIENTS):
    client(n)
event.timeout(20, guard)
event.signal(2, event.abort)
event.dispatch()
print("replies", sorted(replies))
print("report", sorted(rel.report().items()))
