"""Several posternd nodes on one real PostgreSQL (Debian's, started under the test's temp dir):
a device made on one node logs in on the other, a rotation on one is refused on the other at
once, PostgreSQL restarted under load, a node killed with -9, a node cut off from the database
(temporary failures, not stale answers), and `postern database copy` from SQLite. Each case has
its own PostgreSQL and nodes. Mixed into test_postern.Suite."""

import contextlib
import json
import os
import signal
import statistics
import subprocess
import threading
import time

from harness import doveadm_auth_test, dovecot_auth, files_holding
from import_tests import wait_for as wait_for_every
from postgres import PrivatePostgres

ALICE = "alice@example.org"


def wait_for(what, condition, timeout):
    """Polled every 2 ms: some waits here are the figures."""
    return wait_for_every(what, condition, timeout, interval=0.002)


def answer(d, password, user=ALICE, rip=None):
    """The node's Dovecot auth answer: OK, FAIL or TEMPFAIL."""
    line = dovecot_auth(d.auth_socket, user, password, rip=rip)[0]
    if line.startswith("OK"):
        return "OK"
    return "TEMPFAIL" if "code=temp_fail" in line else "FAIL"


def socketmap(d, table, key):
    """One Postfix socketmap lookup on the node (netstrings): "OK alice@example.org", "NOTFOUND "…"""
    import socket
    query = f"{table} {key}".encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(d.socketmap_socket)
        s.sendall(b"%d:%s," % (len(query), query))
        reply = b""
        while not reply.endswith(b","):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b":", 1)[1][:-1].decode()


def http(d, method, path, body=None):
    """(status, parsed JSON) of a control API request over the node's unix socket."""
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket", d.control_socket, "-X", method, f"http://localhost{path}"]
    if body is not None:
        cmd += ["-H", "content-type: application/json", "--data", json.dumps(body)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    text, _, status = out.rpartition("\n")
    return int(status), (json.loads(text) if text.strip() else None)


class ClusterTests:
    @contextlib.contextmanager
    def cluster(self, name, nodes=2, hooks=False, behind_proxy=(), **settings):
        """A private PostgreSQL and `nodes` posternd on it, sharing one server key; alice has a mailbox.
        With hooks, each node's cache-flush hook appends a line to its own hooks.log. The nodes
        numbered in behind_proxy (1, 2…) reach PostgreSQL over TCP through a SilentProxy, d.proxy."""
        from silent_proxy import SilentProxy, unix_socket_of
        from test_postern import Posternd  # noqa: E402 (the class lives beside the suite)
        tmp = os.path.join(self.tmp, name)
        os.makedirs(tmp)
        pg = PrivatePostgres(tmp)
        pg.__enter__()
        started, proxies = [], []
        try:
            for i in range(nodes):
                d = Posternd(self.d.bin_dir, os.path.join(tmp, f"node{i + 1}"), self.imap_port)
                os.makedirs(d.tmp)
                d.proxy = None
                if i + 1 in behind_proxy:
                    d.proxy = SilentProxy(unix_socket_of(pg))
                    proxies.append(d.proxy)
                d.env.update(POSTERN_DATABASE_URL=d.proxy.url() if d.proxy else pg.url(), POSTERN_NODE_NAME=f"node{i + 1}", POSTERN_SERVER_KEY_PATH=os.path.join(tmp, "server.key"),
                             POSTERN_SASLAUTHD_SOCKET="", POSTERN_AUTH_HTTP_LISTEN="", **settings)
                if hooks:
                    script = os.path.join(d.tmp, "hook.sh")
                    with open(script, "w") as f:
                        f.write(f'#!/bin/sh\necho "flush $1" >> {d.tmp}/hooks.log\n')
                    os.chmod(script, 0o755)
                    d.env["POSTERN_REVOCATION_FLUSH_COMMAND"] = f"{script} {{user}}"
                d.start = self._starter(d)
                d.start()  # one after the other: the first creates the server key the others share
                started.append(d)
            started[0].ok("org", "add", "Cluster Ltd")
            started[0].ok("service", "add", "cluster", "--organization", "Cluster Ltd", "--domain", "example.org")
            started[0].ok("mailbox", "add", ALICE)
            yield pg, started
        finally:
            for d in started:
                d.stop()
            for proxy in proxies:
                proxy.close()
            pg.__exit__(None, None, None)

    def test_cluster_a_device_made_on_node_1_logs_in_on_node_2_and_a_rotation_on_2_is_refused_on_1(self):
        with self.cluster("cluster-basic", hooks=True) as (pg, (n1, n2)):
            password = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(password)
            wait_for("node 2 to accept the device made on node 1", lambda: answer(n2, password) == "OK", 5)
            ok, out = doveadm_auth_test(n2.auth_socket, ALICE, password)
            assert ok, f"doveadm auth test on node 2:\n{out}"
            times = []
            for i in range(30):
                new = n2.ok("device", "rotate", ALICE, "phone")["password"]
                answered = time.monotonic()
                wait_for("node 1 to refuse the rotated-out password", lambda: answer(n1, password) == "FAIL", 5)
                times.append(time.monotonic() - answered)
                assert answer(n1, new) == "OK", "node 1 takes the new password"
                password = new
            self.secrets.append(password)
            ok, out = doveadm_auth_test(n1.auth_socket, ALICE, password)
            assert ok, f"doveadm auth test on node 1 with the new password:\n{out}"
            # Both nodes report where they are in the change log, and agree.
            s1, h1 = http(n1, "GET", "/v1/health")
            s2, h2 = http(n2, "GET", "/v1/health")
            assert s1 == s2 == 200 and h1["feed"]["lastApplied"] == h2["feed"]["lastApplied"] > 30, (h1, h2)
            assert not h2["feed"]["stale"] and h2["feed"]["node"] == "node2", h2
            # The routing index follows too: an alias made on node 1 is what Postfix finds on node 2.
            n1.ok("alias", "add", ALICE, "info")
            wait_for("node 2's socketmap to know the alias", lambda: socketmap(n2, "virtual", "info@example.org") == f"OK {ALICE}", 5)
            n2.ok("alias", "remove", ALICE, "info")
            wait_for("node 1's socketmap to forget it", lambda: socketmap(n1, "virtual", "info@example.org").startswith("NOTFOUND"), 5)
            # Disconnect on node 1: refused on node 2 too.
            n1.ok("device", "disconnect", ALICE, "phone")
            wait_for("node 2 to refuse the disconnected device", lambda: answer(n2, password) == "FAIL", 5)
            # The revocation hooks ran once per change on each node, for its own Dovecot: 30 rotations
            # and the disconnect are 31 cache flushes on node 1 and 31 on node 2.
            def flushes(d):
                try:
                    return open(os.path.join(d.tmp, "hooks.log")).read().splitlines()
                except OSError:
                    return []
            wait_for("both nodes to have run their hooks", lambda: len(flushes(n1)) >= 31 and len(flushes(n2)) >= 31, 20)
            assert flushes(n1) == flushes(n2) == [f"flush {ALICE}"] * 31, (len(flushes(n1)), len(flushes(n2)))
            times.sort()
            self.cluster_figures = (statistics.median(times), times[-1], len(times))

    def test_cluster_postgres_restarted_under_load_nodes_keep_answering_and_lose_no_acknowledged_write(self):
        with self.cluster("cluster-restart") as (pg, (n1, n2)):
            password = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(password)
            wait_for("node 2 to accept", lambda: answer(n2, password) == "OK", 5)
            stop = threading.Event()
            answers, acknowledged, refused = [], [], []

            def logins():
                while not stop.is_set():
                    for d in (n1, n2):
                        answers.append(answer(d, password))

            def writes():
                i = 0
                while not stop.is_set():
                    rc, obj = n1.cli("device", "add", ALICE, "--name", f"load {i}")
                    if rc == 0:
                        acknowledged.append(f"load {i}")
                        self.secrets.append(obj["password"])
                    else:
                        refused.append(obj.get("error", {}).get("code"))
                    i += 1

            threads = [threading.Thread(target=logins), threading.Thread(target=writes)]
            for t in threads:
                t.start()
            try:
                wait_for("writes to go through", lambda: len(acknowledged) >= 5, 20)
                # Down: a control write is a clear 503 that changes nothing; logins go on from memory.
                pg.stop()
                # At once, not after the pool's lease wait (database.timeoutSeconds, 5 s): a refused
                # connection is seen by the reachability probe 200 ms into the wait.
                for attempt in range(3):
                    asked = time.monotonic()
                    status, body = http(n2, "POST", f"/v1/mailboxes/{ALICE}/devices", {"name": "while down"})
                    took = time.monotonic() - asked
                    assert status == 503 and body["error"]["code"] == "store_unavailable", (status, body)
                    assert "PostgreSQL" in body["error"]["message"], body
                    assert took < 1.5, f"a write while PostgreSQL is down was answered after {took:.2f} s"
                    self.down_answers = getattr(self, "down_answers", []) + [took]
                # Logins keep being answered while the database is away (all checked below).
                down = len(answers)
                wait_for("200 logins answered while PostgreSQL is down", lambda: len(answers) >= down + 200, 10)
                pg.start()
                before = len(acknowledged)
                wait_for("writes to go through again", lambda: len(acknowledged) >= before + 5, 20)
            finally:
                stop.set()
                for t in threads:
                    t.join()
            assert answers and all(a == "OK" for a in answers), f"{len(answers)} logins, not all OK: {set(answers)}"
            assert refused and set(refused) == {"store_unavailable"}, set(refused)
            for d in (n1, n2):
                names = {dev["name"] for dev in d.ok("device", "list", ALICE)["devices"]}
                lost = [n for n in acknowledged if n not in names]
                assert not lost, f"acknowledged but not on node {d.env['POSTERN_NODE_NAME']}: {lost}"
                assert "while down" not in names
            last = acknowledged[-1]
            new = n1.ok("device", "rotate", ALICE, last)["password"]
            self.secrets.append(new)
            wait_for("node 2 to take a change made after the restart", lambda: answer(n2, new) == "OK", 5)
            self.restart_load = (len(answers), len(acknowledged), len(refused))

    def test_cluster_a_node_killed_with_9_or_cut_off_catches_up(self):
        with self.cluster("cluster-kill") as (pg, (n1, n2)):
            a = n1.ok("device", "add", ALICE, "--name", "a")["password"]
            wait_for("node 2 to accept a", lambda: answer(n2, a) == "OK", 5)
            n2.proc.send_signal(signal.SIGKILL)
            n2.proc.wait()
            a2 = n1.ok("device", "rotate", ALICE, "a")["password"]
            b = n1.ok("device", "add", ALICE, "--name", "b")["password"]
            self.secrets += [a, a2, b]
            n2.start()
            assert answer(n2, a) == "FAIL", "node 2, back, refuses what was rotated while it was down"
            assert answer(n2, a2) == "OK" and answer(n2, b) == "OK", "and takes what was made meanwhile"
            # Its LISTEN connection cut by the server: it reconnects and catches up.
            killed = pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'", database="postern")
            assert int(killed) == 2, f"two nodes listen, {killed} LISTEN connections ended"
            a3 = n1.ok("device", "rotate", ALICE, "a")["password"]
            self.secrets.append(a3)
            wait_for("node 2 to refuse after its listener was cut", lambda: answer(n2, a2) == "FAIL", 5)
            assert answer(n2, a3) == "OK"
            wait_for("node 2's listener to be back", lambda: http(n2, "GET", "/v1/health")[1]["feed"]["listening"], 5)

    def test_cluster_a_node_cut_off_from_the_database_answers_temp_fail_not_stale_secrets(self):
        with self.cluster("cluster-stale", POSTERN_DATABASE_MAX_LAG_SECONDS="2", POSTERN_DATABASE_POLL_MILLISECONDS="200") as (pg, (n1, n2)):
            password = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(password)
            wait_for("node 2 to accept", lambda: answer(n2, password) == "OK", 5)
            pg.stop()
            down = time.monotonic()
            wait_for("node 2 to answer temp_fail", lambda: answer(n2, password) == "TEMPFAIL", 10)
            stale_after = time.monotonic() - down
            assert stale_after >= 1.5, f"stale after {stale_after:.1f} s, before the 2 s allowed"
            status, body = http(n2, "GET", "/v1/health")
            assert status == 503 and body["error"]["code"] == "node_stale", (status, body)
            metrics = subprocess.run(["curl", "-s", "--unix-socket", n2.control_socket, "http://localhost/metrics"],
                                     capture_output=True, text=True).stdout
            assert "postern_feed_stale 1" in metrics, [l for l in metrics.splitlines() if "feed" in l]
            pg.start()
            wait_for("node 2 to answer again once the database is back", lambda: answer(n2, password) == "OK", 10)
            # Health reports the last write: the flusher's of the last uses, or this one.
            wait_for("a write on node 2 to go through", lambda: n2.cli("device", "add", ALICE, "--name", "after")[0] == 0, 10)
            assert http(n2, "GET", "/v1/health")[0] == 200

    def test_cluster_a_node_cut_off_silently_refuses_a_revoked_password_after_max_lag(self):
        # Node 2 reaches PostgreSQL through a proxy that stops forwarding without closing: no error,
        # no reset, its connections stay open. Only what it receives tells it that it is behind.
        max_lag = 3
        with self.cluster("cluster-silent", behind_proxy=(2,), POSTERN_DATABASE_MAX_LAG_SECONDS=str(max_lag),
                          POSTERN_DATABASE_TIMEOUT_SECONDS="2") as (pg, (n1, n2)):
            old = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(old)
            wait_for("node 2 to accept", lambda: answer(n2, old) == "OK", 5)
            n2.proxy.freeze()
            cut = time.monotonic()
            new = n1.ok("device", "rotate", ALICE, "phone")["password"]  # revoked on node 1, unseen by node 2
            self.secrets.append(new)
            answers = []  # (sent, answer) of the revoked password on node 2
            deadline = cut + max_lag + 3
            while time.monotonic() < deadline:
                sent = time.monotonic()
                answers.append((sent - cut, answer(n2, old)))
                if answers[-1][1] == "TEMPFAIL" and len(answers) > 1 and answers[-2][1] == "TEMPFAIL":
                    break
                time.sleep(0.02)
            first_refusal = next((t for t, a in answers if a == "TEMPFAIL"), None)
            assert first_refusal is not None, f"node 2 never refused: {answers[-5:]}"
            assert first_refusal <= max_lag + 1, f"temp_fail {first_refusal:.2f} s after the cut, over maxLag + 1 s"
            late = [(round(t, 2), a) for t, a in answers if t > max_lag and a == "OK"]
            assert not late, f"the revoked password was accepted after maxLag: {late}"
            assert all(a in ("OK", "TEMPFAIL") for _, a in answers), answers
            status, body = http(n2, "GET", "/v1/health")
            assert status == 503 and body["error"]["code"] == "node_stale", (status, body)
            metrics = subprocess.run(["curl", "-s", "--unix-socket", n2.control_socket, "http://localhost/metrics"],
                                     capture_output=True, text=True, timeout=10).stdout
            assert "postern_feed_stale 1" in metrics, [l for l in metrics.splitlines() if "feed" in l]
            # A write on the silent node fails within database.timeoutSeconds instead of hanging.
            asked = time.monotonic()
            status, body = http(n2, "POST", f"/v1/mailboxes/{ALICE}/devices", {"name": "while silent"})
            took = time.monotonic() - asked
            assert status == 503 and body["error"]["code"] == "store_unavailable", (status, body)
            assert took < 2 + 2 + 1, f"the write waited {took:.1f} s"
            n2.proxy.thaw()
            wait_for("node 2 to take the rotation once the proxy forwards again", lambda: answer(n2, new) == "OK", 15)
            assert answer(n2, old) == "FAIL"
            wait_for("a write on node 2 to go through", lambda: n2.cli("device", "add", ALICE, "--name", "after")[0] == 0, 15)
            assert "while silent" not in {dev["name"] for dev in n1.ok("device", "list", ALICE)["devices"]}
            self.silent_figures = (first_refusal, len(answers))

    def test_cluster_a_clear_text_generic_password_is_stored_hashed_and_found_nowhere_in_clear(self):
        """An imported {PLAIN} password is stored as {SHA512-CRYPT}: no byte of it in PostgreSQL's files
        (tables and WAL), in the change log the nodes read, in either node's directory, or in a backup."""
        secret = "plain-" + os.urandom(9).hex()
        with self.cluster("cluster-plain") as (pg, (n1, n2)):
            path = os.path.join(n1.tmp, "plain.passwd")
            with open(path, "w") as f:
                f.write(f"plain@example.org:{{PLAIN}}{secret}\nclear@example.org:{{CLEARTEXT}}{secret}-2\n")
            rc, report = n1.cli("import", "passwd-file", path)
            assert rc == 0 and report["imported"] == 2, report
            assert [w["code"] for w in report["warnings"]] == ["plain_password"] * 2, report
            assert "SHA512-CRYPT" in report["warnings"][0]["message"], report
            os.unlink(path)
            wait_for("node 2 to take the imported password", lambda: answer(n2, secret, user="plain@example.org") == "OK", 10)
            assert answer(n1, secret, user="plain@example.org") == "OK"
            assert answer(n2, secret + "-2", user="clear@example.org") == "OK"
            assert answer(n2, secret + "x", user="plain@example.org") == "FAIL"
            # The same file again: found unchanged (the salt is the same for the same mailbox).
            with open(path, "w") as f:
                f.write(f"plain@example.org:{{PLAIN}}{secret}\n")
            rc, again = n1.cli("import", "passwd-file", path)
            assert rc == 0 and again["unchanged"] == 1 and again["imported"] == 0, again
            os.unlink(path)
            log = pg.psql("SELECT change FROM changelog", database="postern")
            assert "SHA512-CRYPT" in log and secret not in log, log[-400:]
            stored = pg.psql("SELECT genericHash FROM device WHERE kind = 'generic'", database="postern")
            assert stored.count("{SHA512-CRYPT}$6$") == 2, stored
            pg.psql("CHECKPOINT")
            found = files_holding(secret, pg.dir, n1.tmp, n2.tmp)
            assert not found, f"the clear text is in {found}"

    def test_cluster_last_use_shows_the_latest_use_on_both_nodes(self):
        with self.cluster("cluster-last-use", POSTERN_LAST_USE_FLUSH_SECONDS="1") as (pg, (n1, n2)):
            password = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(password)
            wait_for("node 2 to accept", lambda: answer(n2, password) == "OK", 5)
            # Used on node 2 first, then later on node 1, from another IP and service.
            assert dovecot_auth(n2.auth_socket, ALICE, password, service="imap", rip="192.0.2.2")[0].startswith("OK")
            # Not a wait for an event but the spacing under test: last use is kept to the second, so
            # the two uses must be at least a second apart for the later one to be told from the first.
            time.sleep(1.1)
            assert dovecot_auth(n1.auth_socket, ALICE, password, service="smtp", rip="192.0.2.1")[0].startswith("OK")

            def shown(d):
                use = d.ok("device", "list", ALICE)["devices"][0].get("lastUse") or {}
                return use.get("ip"), use.get("service")
            # Both nodes flush (every second here); each then shows node 1's later use, not its own.
            wait_for("node 2 to show node 1's later use", lambda: shown(n2) == ("192.0.2.1", "smtp"), 10)
            wait_for("node 1 to show it too", lambda: shown(n1) == ("192.0.2.1", "smtp"), 10)
            stored = pg.psql("SELECT lastIP || ' ' || lastService FROM device WHERE name = 'phone'", database="postern")
            assert stored == "192.0.2.1 smtp", stored

    def test_cluster_guesses_spread_over_two_nodes_get_at_most_twice_one_nodes_allowance(self):
        # Each node throttles what it sees, from memory: N nodes give an attacker at most N times
        # one node's allowance before every node refuses the source, and never more.
        with self.cluster("cluster-throttle", POSTERN_THROTTLE_FREE_FAILURES="0", POSTERN_THROTTLE_FIRST_DELAY_SECONDS="0",
                          POSTERN_THROTTLE_MAX_DELAY_SECONDS="0", POSTERN_THROTTLE_REFUSE_AFTER="10") as (pg, (n1, n2)):
            password = n1.ok("device", "add", ALICE, "--name", "phone")["password"]
            self.secrets.append(password)
            wait_for("node 2 to accept", lambda: answer(n2, password) == "OK", 5)
            answers = [answer((n1, n2)[i % 2], f"guess {i}", rip="192.0.2.66") for i in range(60)]
            tried = answers.count("FAIL")
            assert tried == 20 and answers.count("TEMPFAIL") == 40, f"{tried} guesses tried, {answers.count('TEMPFAIL')} refused"
            assert answer(n1, password, rip="192.0.2.66") == answer(n2, password, rip="192.0.2.66") == "TEMPFAIL"
            assert answer(n1, password, rip="198.51.100.7") == answer(n2, password, rip="198.51.100.7") == "OK", "the owner elsewhere is not locked out"

    def test_cluster_sign_ins_spread_over_two_nodes_get_one_nodes_allowance(self):
        # Sign-ins are counted in the shared database: two nodes together allow what one does.
        with self.cluster("cluster-signin", POSTERN_THROTTLE_FREE_FAILURES="0", POSTERN_THROTTLE_FIRST_DELAY_SECONDS="0",
                          POSTERN_THROTTLE_MAX_DELAY_SECONDS="0", POSTERN_THROTTLE_REFUSE_AFTER="10") as (pg, (n1, n2)):
            password_file = os.path.join(self.tmp, "cluster-signin.password")
            with open(password_file, "w") as f:
                f.write("the account password of tess\n")
            n1.ok("user", "add", "tess@example.org", "--name", "Tess", "--password-file", password_file)
            self.secrets.append("the account password of tess")
            codes = []
            for i in range(30):
                status, body = http((n1, n2)[i % 2], "POST", "/v1/session", {"login": "tess@example.org", "password": f"guess {i}"})
                codes.append((status, body["error"]["code"]))
            tried = codes.count((401, "wrong_login"))
            refused = codes.count((429, "sign_in_throttled"))
            assert tried == 10 and refused == 20, f"{tried} guesses tried, {refused} refused: {codes}"
            for node in (n1, n2):
                status, body = http(node, "POST", "/v1/session", {"login": "tess@example.org", "password": "the account password of tess"})
                assert status == 429, (status, body)
            counted = pg.psql("SELECT count(*) FROM failurecount WHERE subject LIKE 'signin %'", database="postern").strip()
            assert counted == "2", f"one pair and one login key: {counted}"

    def test_cluster_backup_of_postgresql_while_nodes_write_and_restore_into_an_empty_database(self):
        from test_postern import Posternd  # noqa: E402
        with self.cluster("cluster-backup") as (pg, (n1, n2)):
            passwords = [n1.ok("device", "add", ALICE, "--name", f"phone {i}")["password"] for i in range(5)]
            self.secrets.extend(passwords)
            wait_for("node 2 to accept", lambda: answer(n2, passwords[-1]) == "OK", 5)
            backup = os.path.join(self.tmp, "cluster-backup-dir")
            # Node 2 goes on writing while node 1 backs up: pg_dump takes one snapshot, blocks no one.
            stop, written = threading.Event(), []
            def writes():
                while not stop.is_set():
                    written.append(n2.ok("alias", "add", ALICE, f"w{len(written)}"))
            writer = threading.Thread(target=writes)
            writer.start()
            try:
                wait_for("writes under way", lambda: len(written) >= 2, 20)
                manifest = n1.ok("backup", backup)
                wait_for("writes after the backup", lambda: len(written) >= 4, 20)
            finally:
                stop.set()
                writer.join(30)
            assert set(manifest["files"]) == {"postern.pgdump", "server.key"} and manifest["devices"] == 5, manifest
            for name in os.listdir(backup):
                assert os.stat(os.path.join(backup, name)).st_mode & 0o077 == 0, f"{name} is readable by others"
            assert not files_holding(passwords[0], backup), "no device password in clear in the backup"
            pg.psql("CREATE DATABASE restored")
            restored_key = os.path.join(self.tmp, "cluster-restored.key")
            restore = [os.path.join(self.d.bin_dir, "postern"), "restore", backup, "--json", "--socket", os.path.join(self.tmp, "no-such.sock"),
                       "--server-key", restored_key]
            r = subprocess.run(restore, capture_output=True, text=True, timeout=60)
            assert r.returncode != 0 and json.loads(r.stdout)["error"]["code"] == "database_url_required", r
            r = subprocess.run(restore + ["--database-url", pg.url("restored")], capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and json.loads(r.stdout)["devices"] == 5, r
            d = Posternd(self.d.bin_dir, os.path.join(self.tmp, "cluster-restored-node"), self.imap_port)
            os.makedirs(d.tmp)
            d.env.update(POSTERN_DATABASE_URL=pg.url("restored"), POSTERN_NODE_NAME="restored", POSTERN_SERVER_KEY_PATH=restored_key,
                         POSTERN_SASLAUTHD_SOCKET="", POSTERN_AUTH_HTTP_LISTEN="")
            d.start = self._starter(d)
            d.start()
            try:
                assert all(answer(d, p) == "OK" for p in passwords), "every device logs in on the restored database"
            finally:
                d.stop()
            r = subprocess.run(restore + ["--database-url", pg.url("restored")], capture_output=True, text=True, timeout=120)
            assert r.returncode != 0 and "already holds tables" in json.loads(r.stdout)["error"]["message"], r

    def test_cluster_postern_database_copy_moves_an_sqlite_database_to_postgresql(self):
        from test_postern import Posternd  # noqa: E402
        one = self.import_daemon("copy-sqlite")  # one node on SQLite, with an organization serving example.org
        one.ok("mailbox", "add", ALICE)
        password = one.ok("device", "add", ALICE, "--name", "phone")["password"]
        self.secrets.append(password)
        one.ok("alias", "add", ALICE, "info")
        one.ok("user", "add", "carol@example.org", "--name", "Carol")
        one.stop()
        tmp = os.path.join(self.tmp, "copy-postgres")
        os.makedirs(tmp)
        with PrivatePostgres(tmp) as pg:
            copy = [os.path.join(self.d.bin_dir, "postern"), "database", "copy", "--from", "sqlite:" + one.env["POSTERN_DATABASE_PATH"],
                    "--to", pg.url(), "--json"]
            r = subprocess.run(copy, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stdout + r.stderr
            rows = json.loads(r.stdout)["rows"]
            assert rows["mailbox"] == 1 and rows["device"] == 1 and rows["alias"] == 1 and rows["user"] == 1 and rows["history"] >= 3, rows
            # Copying again is refused: the target is no longer empty, and is left as it was.
            again = subprocess.run(copy, capture_output=True, text=True, timeout=120)
            assert again.returncode != 0 and "already holds rows" in json.loads(again.stdout)["error"]["message"], again.stdout
            node = Posternd(self.d.bin_dir, os.path.join(tmp, "node"), self.imap_port)
            os.makedirs(node.tmp)
            node.env.update(POSTERN_DATABASE_URL=pg.url(), POSTERN_NODE_NAME="moved", POSTERN_SERVER_KEY_PATH=one.env["POSTERN_SERVER_KEY_PATH"],
                            POSTERN_SASLAUTHD_SOCKET="", POSTERN_AUTH_HTTP_LISTEN="", POSTERN_SOCKETMAP_SOCKET="")
            node.start = self._starter(node)
            node.start()
            try:
                assert answer(node, password) == "OK", "the device password made on SQLite logs in on PostgreSQL"
                assert [a["address"] for a in node.ok("alias", "list", ALICE)["aliases"]] == ["info@example.org"]
                assert any(h["action"] == "device.add" for h in node.ok("history", ALICE)["history"])
                # New rows get new ids after the copied ones.
                second = node.ok("device", "add", ALICE, "--name", "tablet")
                self.secrets.append(second["password"])
                assert second["device"]["id"] > 1, second
            finally:
                node.stop()
