"""End-to-end: the README's "Bounded clients" promises on the HTTP listeners (auth_http, the
control socket and its TCP listener): a kept-alive connection closed at idleTimeoutSeconds, a
body declared over the limit refused with 413 at its size line, one log line at a listener's cap,
and at the descriptor limit one line a minute of each kind, not one per client. Mixed into
test_postern.Suite; each test restarts the suite's posternd with its own settings."""

import json
import os
import socket
import subprocess
import time

from harness import dovecot_auth, free_port

HUGE_CHUNK = b"FFFFFFFFFFFFFFFF\r\n"


def read_response(s):
    """(status, JSON body or None) of one HTTP/1.1 answer with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before an answer: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = next((int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:")), 0)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(lines[0].split()[1])
    try:
        return status, json.loads(body) if body else None
    except ValueError:
        return status, None


def closed_after(s, limit):
    """Seconds until the server closes `s` (it sends nothing more), at most `limit`."""
    started = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        return None
    except OSError:
        pass
    return time.monotonic() - started


def wait_for_tcp(address, timeout=15):
    """Until something accepts on HOST:PORT (posternd's TCP listeners come up after its unix sockets)."""
    host, port = address.split(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {address} after {timeout} s")
            time.sleep(0.02)


class BoundedTests:
    def http_doors(self, control_tcp):
        """(name, connect, a request that answers) for auth_http, the control socket and its TCP listener."""
        wait_for_tcp(self.d.env["POSTERN_AUTH_HTTP_LISTEN"])
        wait_for_tcp(control_tcp)
        host, port = self.d.env["POSTERN_AUTH_HTTP_LISTEN"].split(":")
        auth = (b"GET /auth HTTP/1.1\r\nHost: localhost\r\nAuth-Method: plain\r\nAuth-User: bob@example.net\r\nAuth-Pass: wrong\r\n"
                b"Auth-Protocol: imap\r\nClient-IP: 192.0.2.9\r\n\r\n")
        health = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"

        def unix():
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.d.control_socket)
            return s
        tcp_host, tcp_port = control_tcp.split(":")
        return [("auth_http", lambda: socket.create_connection((host, int(port)), timeout=10), auth),
                ("control socket", unix, health),
                ("control TCP", lambda: socket.create_connection((tcp_host, int(tcp_port)), timeout=10), health)]

    def test_http_listeners_close_idle_connections_at_the_idle_timeout_and_refuse_a_huge_chunk_at_once(self):
        control_tcp = f"127.0.0.1:{free_port()}"
        with self.restarted_with(dict(POSTERN_AUTH_HTTP_IDLE_TIMEOUT_SECONDS="2", POSTERN_CONTROL_IDLE_TIMEOUT_SECONDS="2",
                                      POSTERN_CONTROL_LISTEN=control_tcp)):
            for name, connect, request in self.http_doors(control_tcp):
                with connect() as s:
                    # Kept alive: a second request inside the idle time is answered on the same connection.
                    s.sendall(request)
                    read_response(s)
                    # Idle on purpose, not a wait for an event: half the idle time passes, and the timer
                    # must restart at the next request (the close is then measured from that request).
                    time.sleep(1)
                    s.sendall(request)
                    read_response(s)
                    took = closed_after(s, 10)
                assert took is not None and 1.8 < took < 3.0, f"{name}: an idle kept-alive connection closed after {took} s, not 2 s"
                # A chunk size no limit can hold: 413 as soon as its line is read, and the connection closed.
                with connect() as s:
                    path = b"/auth" if name == "auth_http" else b"/v1/mailboxes"
                    s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n" + HUGE_CHUNK)
                    asked = time.monotonic()
                    s.settimeout(5)
                    status, body = read_response(s)
                    answered = time.monotonic() - asked
                    assert status == 413 and body["error"]["code"] == "too_large", (name, status, body)
                    assert answered < 1, f"{name}: 413 after {answered:.2f} s"
                    assert closed_after(s, 5) is not None, f"{name}: left open after the 413"
            # A Content-Length over the control API's 1 MiB is refused at the head too.
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.d.control_socket)
                s.settimeout(5)
                s.sendall(b"POST /v1/mailboxes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n")
                assert read_response(s)[0] == 413
            # The passwd-file import streams its body: a large chunk is not refused there.
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.d.control_socket)
                s.settimeout(10)
                line = b"streamed@nowhere.invalid:{PLAIN}secret\n"  # a domain no service holds: nothing is written
                chunk = line * (2_000_000 // len(line))
                s.sendall(b"POST /v1/import/passwd-file HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
                status, _ = read_response(s)
                assert status == 200, f"a 2 MB chunk of a streamed import got {status}"

    def test_the_tcp_control_listener_at_its_cap_says_so_once(self):
        control_tcp = f"127.0.0.1:{free_port()}"
        with self.restarted_with(dict(POSTERN_CONTROL_LISTEN=control_tcp, POSTERN_CONTROL_MAX_CONNECTIONS="8")):
            wait_for_tcp(control_tcp)
            log_start = os.path.getsize(self.d.log_path)
            host, port = control_tcp.split(":")
            held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(30)]
            deadline = time.monotonic() + 10
            line = "control (TCP): 8 connections open, the configured maximum"
            while line not in open(self.d.log_path).read()[log_start:] and time.monotonic() < deadline:
                time.sleep(0.05)
            for s in held:
                s.close()
            log = open(self.d.log_path).read()[log_start:]
            assert log.count(line) == 1, log[-2000:]

    def test_at_the_descriptor_limit_the_log_says_so_once_not_per_client(self):
        control_tcp = f"127.0.0.1:{free_port()}"
        with self.restarted_with(dict(POSTERN_CONTROL_LISTEN=control_tcp)):
            wait_for_tcp(self.d.env["POSTERN_AUTH_HTTP_LISTEN"])
            wait_for_tcp(control_tcp)
            pid = self.d.proc.pid
            subprocess.run(["prlimit", f"--pid={pid}", "--nofile=256:256"], check=True)
            log_start = os.path.getsize(self.d.log_path)
            host, port = self.d.env["POSTERN_AUTH_HTTP_LISTEN"].split(":")
            tcp_host, tcp_port = control_tcp.split(":")
            held = []

            def unix(path, first=None):
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(1)
                s.connect(path)
                if first:
                    s.sendall(first)
                return s
            # 600 clients on every door, a third of them sending bytes that get their connection closed.
            doors = [lambda: socket.create_connection((host, int(port)), timeout=1),
                     lambda: socket.create_connection((tcp_host, int(tcp_port)), timeout=1),
                     lambda: unix(self.d.control_socket),
                     lambda: unix(self.d.auth_socket),
                     lambda: unix(self.d.auth_socket, b"VERSION\t9\t0\n"),
                     lambda: unix(self.d.socketmap_socket, b"garbage, not a netstring"),
                     lambda: unix(self.d.saslauthd_socket, b"\xff\xff\xff")]
            for i in range(600):
                try:
                    held.append(doors[i % len(doors)]())
                except OSError:
                    pass
            deadline = time.monotonic() + 10
            while "out of file descriptors" not in open(self.d.log_path).read()[log_start:] and time.monotonic() < deadline:
                time.sleep(0.05)
            for s in held:
                s.close()
            # Back under the limit, posternd serves again.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    if dovecot_auth(self.d.auth_socket, "nobody@example.net", "wrong", rip="127.0.0.1")[0].startswith("FAIL"):
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            else:
                raise AssertionError("posternd did not serve again once the clients were gone")
            lines = open(self.d.log_path).read()[log_start:].splitlines()
            assert any("out of file descriptors" in l for l in lines), lines[-20:]
            kinds = {}
            for l in lines:
                text = l.split("[PosternServer] ", 1)[-1]
                kind = text.split(":", 1)[0] + (" closed" if "closing" in text else "")
                kinds[kind] = kinds.get(kind, 0) + 1
            assert len(lines) <= 15 and all(n <= 2 for n in kinds.values()), f"{len(lines)} log lines for 600 clients: {kinds}"
            self.descriptor_figures = (len(held), len(lines))
