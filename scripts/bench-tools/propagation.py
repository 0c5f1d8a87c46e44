"""Revocation across nodes: how long after node 1's control API answers a rotation does node 2's
auth socket refuse the old password. One device; ROTATIONS rotations through node 1 (keep-alive
HTTP on its control socket); after each answer, node 2 is asked with the old password over one
Dovecot-protocol connection, again and again, until it answers FAIL (each try takes ~50 µs, so
the figure is exact to about that). Prints one key=value line for table.py.

    propagation.py NODE1_CONTROL_SOCKET NODE2_AUTH_SOCKET ADDRESS ROTATIONS [DEVICE_NAME]
"""
import base64
import socket
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from control_rates import UnixHTTP, call  # noqa: E402


class AuthClient:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.sock.sendall(b"VERSION\t1\t0\nCPID\t1\n")
        while self.file.readline().rstrip(b"\n") != b"DONE":
            pass
        self.id = 0

    def check(self, user, password):
        self.id += 1
        resp = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        self.sock.sendall(f"AUTH\t{self.id}\tPLAIN\tservice=imap\tnologin\tresp={resp}\n".encode())
        return self.file.readline().split(b"\t", 1)[0].decode()


def main():
    control, auth, address, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    name = sys.argv[5] if len(sys.argv) > 5 else "propagation"
    conn = UnixHTTP(control)
    password = call(conn, "POST", f"/v1/mailboxes/{address}/devices", 201, {"name": name})["password"]
    node2 = AuthClient(auth)
    deadline = time.monotonic() + 10
    while node2.check(address, password) != "OK":
        if time.monotonic() > deadline:
            raise SystemExit("node 2 never accepted the new device")
    times, tries = [], 0
    for _ in range(n):
        new = call(conn, "POST", f"/v1/mailboxes/{address}/devices/{name}/rotate", 200)["password"]
        answered = time.monotonic()
        while True:
            tries += 1
            answer = node2.check(address, password)
            if answer == "FAIL":
                break
            if time.monotonic() - answered > 10:
                raise SystemExit("node 2 still accepts a rotated-out password after 10 s")
        times.append(time.monotonic() - answered)
        if node2.check(address, new) != "OK":
            raise SystemExit("node 2 refuses the new password")
        password = new
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000  # noqa: E731
    print(f"rotations={n} p50_ms={pick(0.5):.2f} p99_ms={pick(0.99):.2f} max_ms={times[-1] * 1000:.2f} tries={tries}")


if __name__ == "__main__":
    main()
