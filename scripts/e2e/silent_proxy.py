"""A TCP proxy in front of the test PostgreSQL that can go silent: freeze() stops forwarding in
both directions without closing anything (the node's connections stay open and its kernel's
packets are still acknowledged, as with a frozen server or a proxy that hangs), thaw() resumes.
A node connects to 127.0.0.1:port; the proxy connects to PostgreSQL's unix socket."""

import os
import select
import socket
import threading


class SilentProxy:
    def __init__(self, unix_socket):
        self.target = unix_socket
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.closed = threading.Event()
        self.sockets = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self):
        self.flowing.clear()

    def thaw(self):
        self.flowing.set()

    def _accept(self):
        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while not self.closed.is_set():
                if not self.flowing.wait(0.05):
                    continue
                readable, _, _ = select.select([source], [], [], 0.05)
                if not readable:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                self.flowing.wait()  # read while flowing, held if frozen meanwhile
                sink.sendall(data)
        except (OSError, ValueError):  # closed by close()
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def url(self, database="postern"):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def close(self):
        self.closed.set()
        self.flowing.set()
        self.server.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass


def unix_socket_of(pg):
    """The path of the private PostgreSQL's socket (port 5432 in its socket directory)."""
    return os.path.join(pg.socket_dir, ".s.PGSQL.5432")
