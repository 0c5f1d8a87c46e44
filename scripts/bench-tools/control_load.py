"""The control benchmark's load: 64 clients at once, each an administrator with an API token (and
a web session for the home page), never the operator. Every answer is checked.

    control_load.py setup SOCKET PLAN TCP_URL          # passwords, tokens and sessions -> PLAN.auth.json
    control_load.py run PLAN "URL1 URL2…" WEB "W1 W2…" SECONDS MIX [LABEL] [RATE]

MIX is "mixed" (80% reads: the actor's mailbox list, first page and a later one, one mailbox's
devices, one mailbox's history, the organization's members, the web manager's home page; 20%
writes: device add, rotate, disconnect, alias add, a permission given) or "writes" (device add,
rotate and disconnect only). RATE (ops/s, all clients together): each client paces its requests to
its share of it, for latencies at a load below the most posternd answers; 0 or absent: as fast as
it is answered (the throughput). Client i talks to URL i mod the number of URLs (one node each).
Prints one key=value line per operation (ops/s, p50 and p99 in ms), then the totals.
"""
import http.client
import json
import multiprocessing
import random
import socket
import sys
import time
import urllib.parse

READS = [("mailboxes_first", 16), ("mailboxes_later", 16), ("devices", 12), ("history", 12), ("members", 12), ("home", 12)]
WRITES = [("device_add", 5), ("device_rotate", 4), ("device_disconnect", 3), ("alias_add", 4), ("permission", 4)]
WRITE_ONLY = [("device_add", 4), ("device_rotate", 4), ("device_disconnect", 3)]
PASSWORD = "bench-account-password-1"


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def tcp(url):
    parsed = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)


def call(conn, method, path, expect, body=None, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    response = conn.getresponse()
    data = response.read()
    if response.status not in expect:
        raise AssertionError(f"{method} {path}: {response.status} {data[:300]!r}")
    return data


def q(text):
    return urllib.parse.quote(text, safe="@")


def setup(control_socket, plan_path, tcp_url):
    plan = json.load(open(plan_path))
    operator, api = UnixHTTP(control_socket), tcp(tcp_url)
    auth = []
    for client in plan["clients"]:
        login = client["login"]
        call(operator, "PUT", f"/v1/users/{q(login)}/password", (200,), {"password": PASSWORD})
        token = json.loads(call(operator, "POST", "/v1/tokens", (201,), {"name": "bench", "login": login, "days": 30}))["secret"]
        session = json.loads(call(api, "POST", "/v1/session", (200, 201), {"login": login, "password": PASSWORD}))["secret"]
        auth.append({"token": token, "session": session})
    json.dump(auth, open(plan_path + ".auth.json", "w"))


def client_loop(index, client, auth, api_url, web_url, seconds, mix, rate, out):
    try:
        out.put(client_ops(index, client, auth, api_url, web_url, seconds, mix, rate))
    except Exception as error:  # said to the parent at once: a wrong answer ends the run
        out.put({"error": f"client {index}: {error}"})


def client_ops(index, client, auth, api_url, web_url, seconds, mix, rate):
    rng = random.Random(index)
    interval = rate[1] / rate[0] if rate[0] > 0 else 0  # (ops/s of all, clients): this one's share
    tag = f"{mix[0]}{int(rate[0])}"  # names made in one run differ from another's
    next_at = time.monotonic() + rng.random() * interval
    api, web = tcp(api_url), tcp(web_url)
    bearer = {"Authorization": f"Bearer {auth['token']}"}
    cookie = {"Cookie": f"postern_session={auth['session']}"}
    boxes, members = client["mailboxes"], list(client["members"])
    grants = [(m, b) for m in members for b in boxes[:200]]
    rng.shuffle(grants)
    mine = []  # (mailbox, device name) this client added
    ops = WRITE_ONLY if mix == "writes" else READS + WRITES
    names, weights = [o[0] for o in ops], [o[1] for o in ops]
    size = "big" if client["big"] else "small"
    samples = {}
    serial = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if interval:
            wait = next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            next_at += interval
        op = rng.choices(names, weights)[0]
        box = rng.choice(boxes)
        if op in ("device_rotate", "device_disconnect") and not mine:
            op = "device_add"
        serial += 1
        started = time.perf_counter()
        # Reads are checked by their status and a marker, not parsed: the load generator's own
        # work per request stays small beside posternd's (they share this machine's cores).
        if op == "mailboxes_first":
            assert b'"next"' in call(api, "GET", "/v1/mailboxes?limit=50", (200,), headers=bearer)
            op = f"mailboxes_first_{size}"
        elif op == "mailboxes_later":
            assert b'"address"' in call(api, "GET", f"/v1/mailboxes?limit=50&after={q(client['cursor'])}", (200,), headers=bearer)
            op = f"mailboxes_later_{size}"
        elif op == "devices":
            assert b'"devices"' in call(api, "GET", f"/v1/mailboxes/{q(box)}/devices", (200,), headers=bearer)
        elif op == "history":
            assert b'"history"' in call(api, "GET", f"/v1/mailboxes/{q(box)}/history?limit=50", (200,), headers=bearer)
        elif op == "members":
            assert b'"login"' in call(api, "GET", f"/v1/organizations/{q(client['organization'])}/members", (200,), headers=bearer)
        elif op == "home":
            assert b"Your mailboxes" in call(web, "GET", "/", (200,), headers=cookie)
        elif op == "device_add":
            name = f"bench-{tag}-{index}-{serial}"
            call(api, "POST", f"/v1/mailboxes/{q(box)}/devices", (201,), {"name": name}, headers=bearer)
            mine.append((box, name))
        elif op == "device_rotate":
            where, name = rng.choice(mine)
            call(api, "POST", f"/v1/mailboxes/{q(where)}/devices/{q(name)}/rotate", (200,), headers=bearer)
        elif op == "device_disconnect":
            where, name = mine.pop(rng.randrange(len(mine)))
            call(api, "DELETE", f"/v1/mailboxes/{q(where)}/devices/{q(name)}", (200,), headers=bearer)
        elif op == "alias_add":
            call(api, "POST", f"/v1/mailboxes/{q(box)}/aliases", (201,), {"alias": f"a{tag}x{index}x{serial}"}, headers=bearer)
        elif op == "permission":
            if not grants:
                continue
            login, where = grants.pop()
            call(api, "PUT", f"/v1/mailboxes/{q(where)}/access/{q(login)}", (200,), {"permissions": ["devices", "history"]}, headers=bearer)
        samples.setdefault(op, []).append(time.perf_counter() - started)
    return samples


def run(plan_path, urls, web_urls, seconds, mix, label, rate):
    plan = json.load(open(plan_path))
    auth = json.load(open(plan_path + ".auth.json"))
    urls, web_urls = urls.split(), web_urls.split()
    clients = len(plan["clients"])
    jobs = [(i, c, auth[i], urls[i % len(urls)], web_urls[i % len(web_urls)], seconds, mix, (rate, clients))
            for i, c in enumerate(plan["clients"])]
    mix_label = f"{mix}@{rate:.0f}/s" if rate > 0 else mix
    out = multiprocessing.Queue()
    # One process per client: no interpreter lock shared between clients.
    procs = [multiprocessing.Process(target=client_loop, args=job + (out,)) for job in jobs]
    for p in procs:
        p.start()
    merged = {}
    for _ in jobs:
        answer = out.get(timeout=seconds + 120)
        if "error" in answer:
            for p in procs:
                p.terminate()
            raise SystemExit(answer["error"])
        for op, times in answer.items():
            merged.setdefault(op, []).extend(times)
    for p in procs:
        p.join()
        assert p.exitcode == 0, f"a load process failed ({p.exitcode})"
    def pct(times, p):
        times = sorted(times)
        return times[min(len(times) - 1, int(len(times) * p))] * 1000
    reads = writes = 0
    for op in sorted(merged):
        times = merged[op]
        kind = "write" if op.startswith(("device_", "alias_", "permission")) else "read"
        if kind == "read":
            reads += len(times)
        else:
            writes += len(times)
        print(f"kind=control label={label} mailboxes={plan['mailboxes']} mix={mix_label} op={op} class={kind} count={len(times)} "
              f"ops_per_s={len(times) / seconds:.0f} p50_ms={pct(times, 0.5):.1f} p99_ms={pct(times, 0.99):.1f}", flush=True)
    print(f"kind=control-total label={label} mailboxes={plan['mailboxes']} mix={mix_label} reads_per_s={reads / seconds:.0f} "
          f"writes_per_s={writes / seconds:.0f} ops_per_s={(reads + writes) / seconds:.0f}", flush=True)
    if not merged:
        raise SystemExit("no operation completed")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        run(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6], sys.argv[7] if len(sys.argv) > 7 else "",
            float(sys.argv[8]) if len(sys.argv) > 8 else 0)
