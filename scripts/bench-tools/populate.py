"""Creates N mailboxes with one device each through the control socket; writes "login password"
lines for authload and prints the control-plane rates."""
import http.client
import json
import socket
import sys
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(conn, method, url, body=None):
    conn.request(method, url, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = json.loads(response.read() or b"{}")
    if response.status >= 300:
        raise SystemExit(f"{method} {url}: {response.status} {data}")
    return data


def main(path, n, out):
    conn = UnixHTTP(path)
    call(conn, "POST", "/v1/organizations", {"name": "Bench"})
    call(conn, "POST", "/v1/services", {"name": "bench", "organization": "Bench", "domains": ["bench.example"]})
    started = time.monotonic()
    for i in range(n):
        call(conn, "POST", "/v1/mailboxes", {"address": f"user{i}@bench.example"})
    boxes = time.monotonic() - started
    started = time.monotonic()
    lines = []
    for i in range(n):
        secret = call(conn, "POST", f"/v1/mailboxes/user{i}@bench.example/devices", {"name": "phone"})["password"]
        lines.append(f"user{i}@bench.example {secret}\n")
    devices = time.monotonic() - started
    started = time.monotonic()
    rotations = min(n, 200)
    for i in range(rotations):
        lines[i] = f"user{i}@bench.example " + call(conn, "POST", f"/v1/mailboxes/user{i}@bench.example/devices/phone/rotate")["password"] + "\n"
    rotate = time.monotonic() - started
    open(out, "w").writelines(lines)
    print(f"control plane: {n / boxes:.0f} mailbox adds/s, {n / devices:.0f} device adds/s, {rotations / rotate:.0f} rotations/s (one client, fsync per write)")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
