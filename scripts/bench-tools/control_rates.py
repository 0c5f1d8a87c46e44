"""Control-plane rates: device create, rotate and disconnect per second through posternd's
control socket, on mailboxes that already exist (user0..user{N-1}@bench.example, as seed.py
makes them). CLIENTS threads share the work, each with its own keep-alive connection. Every
answer is checked; each write is committed (fsync) and in the password index before its answer.
One line per operation, in the key=value form table.py reads.

    control_rates.py SOCKET N CLIENTS
"""
import http.client
import json
import socket
import sys
import threading
import time


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def call(conn, method, url, expect, body=None):
    conn.request(method, url, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    if response.status != expect:
        raise SystemExit(f"{method} {url}: {response.status} {data[:200]!r}")
    return json.loads(data or b"{}")


def run(path, n, clients, operation):
    failures = []

    def work(first):
        try:
            do(first)
        except BaseException as error:  # noqa: BLE001 - any failure fails the run
            failures.append(f"{operation}: {error}")

    def do(first):
        conn = UnixHTTP(path)
        for i in range(first, n, clients):
            mailbox = f"/v1/mailboxes/user{i}@bench.example/devices"
            if operation == "create":
                secret = call(conn, "POST", mailbox, 201, {"name": "bench-laptop"})
                assert len(secret["password"]) == 27, secret
            elif operation == "rotate":
                call(conn, "POST", f"{mailbox}/bench-laptop/rotate", 200)
            else:
                call(conn, "DELETE", f"{mailbox}/bench-laptop", 200)
        conn.close()

    threads = [threading.Thread(target=work, args=(c,)) for c in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if failures:
        raise SystemExit(failures[0])
    print(f"operation={operation} clients={clients} count={n} per_second={n / elapsed:.0f}", flush=True)


def main(path, n, clients):
    for operation in ("create", "rotate", "disconnect"):
        run(path, n, clients, operation)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
