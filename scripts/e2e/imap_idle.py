"""A raw IMAP client that logs in, selects INBOX and IDLEs, from a chosen loopback source
address (so that two devices of one mailbox look like two client IPs), and reports when the
server drops it."""

import select
import socket
import time


class IdleSession:
    def __init__(self, port, user, password, source_ip="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source_ip, 0))
        self.buffer = b""
        self.line()  # greeting
        self.command(b"a", f'LOGIN "{user}" "{password}"'.encode())
        self.command(b"b", b"SELECT INBOX")
        self.sock.sendall(b"c IDLE\r\n")
        line = self.line()
        if not line.startswith(b"+"):
            raise RuntimeError(f"IDLE refused: {line!r}")

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def command(self, tag, text):
        self.sock.sendall(tag + b" " + text + b"\r\n")
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(f"{text[:20]!r}: {line!r}")
                return line

    def wait_closed(self, timeout):
        """Seconds until the server closed the session (BYE then EOF), or None if still open."""
        started = time.monotonic()
        self.sock.setblocking(False)
        while True:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                try:
                    chunk = self.sock.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    return time.monotonic() - started
                if not chunk:
                    return time.monotonic() - started
                self.buffer += chunk

    def saw_bye(self):
        return b"* BYE" in self.buffer

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
