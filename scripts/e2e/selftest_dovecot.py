#!/usr/bin/env python3
"""Self-check of dovecot.py: a REAL Dovecot 2.3 (imap + pop3) asking a REAL posternd,
first through the Lua passdb (conf/dovecot-postern.conf + conf/postern-passdb.lua),
then through checkpassword (conf/dovecot-postern-checkpassword.conf).

Run as root:  python3 scripts/e2e/selftest_dovecot.py [--bin DIR] [--logins N]
  --bin DIR     where posternd and postern are (default: $POSTERN_BIN or /tmp/postern-bin);
                they are copied to the temp dir first, so a rebuild cannot swap them mid-run.
  --logins N    sequential IMAP logins timed per passdb (default 50).
Exit 0 when every check passes.  Cleans up all processes and files it made.

posternd runs from env variables only, with throttling relaxed
(POSTERN_THROTTLE_FREE_FAILURES): the run makes ~20 failed logins from 127.0.0.1.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402

USER = "alice@example.org"
failures = []


def check(label, cond, detail=""):
    print(f"  {'ok  ' if cond else 'FAIL'} {label}" + (f"  [{detail}]" if detail else ""), flush=True)
    if not cond:
        failures.append(label)
    return cond


def wait_connectable(path, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Posternd:
    """posternd in its own directory, configured by environment variables."""

    def __init__(self, d, bin_dir):
        self.d, self.bin_dir = d, bin_dir
        self.run = os.path.join(d, "run")
        self.auth_socket = os.path.join(self.run, "auth.sock")
        self.control_socket = os.path.join(self.run, "control.sock")
        self.proc = None

    def start(self):
        os.makedirs(self.run, exist_ok=True)
        for p in (self.d, self.run):
            os.chmod(p, 0o711)
        env = dict(os.environ,
                   POSTERN_DATABASE_PATH=os.path.join(self.d, "db.sqlite"),
                   POSTERN_SERVER_KEY_PATH=os.path.join(self.d, "server.key"),
                   POSTERN_AUTH_SOCKET=self.auth_socket,
                   POSTERN_AUTH_SOCKET_MODE="0666",
                   POSTERN_CONTROL_SOCKET=self.control_socket,
                   POSTERN_SASLAUTHD_SOCKET="",
                   POSTERN_SEEDS_DIRECTORY="",
                   POSTERN_THROTTLE_FREE_FAILURES="1000",
                   POSTERN_THROTTLE_REFUSE_AFTER="100000")
        self.proc = subprocess.Popen([os.path.join(self.bin_dir, "posternd")], cwd=self.d, env=env,
                                     stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.d, "posternd.log"), "ab"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not (wait_connectable(self.auth_socket) and wait_connectable(self.control_socket)):
            self.stop()
            raise RuntimeError("posternd did not come up:\n" + self.log_tail())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cli(self, *args):
        """`postern ARGS --json --socket CONTROL` -> parsed JSON (raises on error)."""
        r = subprocess.run([os.path.join(self.bin_dir, "postern"), *args, "--json",
                            "--socket", self.control_socket],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"postern {' '.join(args)}: exit {r.returncode}: {r.stdout}{r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def last_use(self, address, device):
        for dev in self.cli("device", "list", address)["devices"]:
            if dev["name"] == device:
                return dev.get("lastUse") or {}
        return None

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.d, "posternd.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return str(e)


def imap(dv, user, pw, **kw):
    return dovecot.imap_login(dv.imap_port, user, pw, **kw)


def pop3(dv, user, pw):
    return dovecot.pop3_login(dv.pop3_port, user, pw)


def suite(label, dv, pd):
    """The login checks, against a Dovecot dv whose passdb asks posternd pd."""
    phone = f"phone-{label}"
    pw = pd.cli("device", "add", USER, "--name", phone)["password"]
    imap_only = pd.cli("device", "add", USER, "--name", f"imaponly-{label}", "--scope", "imap")["password"]

    ok, msg = imap(dv, USER, pw, select=True)
    check(f"[{label}] IMAP LOGIN + SELECT, device password", ok, msg)
    lu = pd.last_use(USER, phone)
    check(f"[{label}] last use: service imap, ip 127.0.0.1",
          lu.get("service") == "imap" and lu.get("ip") == "127.0.0.1", lu)
    ok, msg = pop3(dv, USER, pw)
    check(f"[{label}] POP3 USER/PASS + STAT, device password", ok, msg)
    lu = pd.last_use(USER, phone)
    check(f"[{label}] last use: service pop3, ip 127.0.0.1",
          lu.get("service") == "pop3" and lu.get("ip") == "127.0.0.1", lu)
    ok, msg = imap(dv, "Alice@Example.ORG", pw)
    check(f"[{label}] IMAP mixed-case login (Dovecot lowercases: auth_username_format %Lu)", ok, msg)

    t0 = time.monotonic()
    ok, msg = imap(dv, USER, pw + "x")
    check(f"[{label}] IMAP wrong password refused", not ok and "AUTHENTICATIONFAILED" in msg,
          f"{msg} {time.monotonic() - t0:.2f}s")
    ok, msg = pop3(dv, USER, "wrong")
    check(f"[{label}] POP3 wrong password refused", not ok and "[AUTH]" in msg, msg)
    ok, msg = imap(dv, "nobody@example.org", pw)
    check(f"[{label}] IMAP unknown user refused", not ok and "AUTHENTICATIONFAILED" in msg, msg)

    ok, msg = imap(dv, USER, imap_only)
    check(f"[{label}] imap-only password: IMAP accepted", ok, msg)
    ok, msg = pop3(dv, USER, imap_only)
    check(f"[{label}] imap-only password: POP3 refused (service reaches Postern)",
          not ok and "[AUTH]" in msg, msg)
    lu = pd.last_use(USER, f"imaponly-{label}")
    check(f"[{label}] imap-only last use stays imap", lu.get("service") == "imap", lu)

    new = pd.cli("device", "rotate", USER, phone)["password"]
    ok, msg = imap(dv, USER, pw)
    check(f"[{label}] after rotate: old password refused on IMAP", not ok, msg)
    ok, msg = pop3(dv, USER, pw)
    check(f"[{label}] after rotate: old password refused on POP3", not ok, msg)
    ok, msg = imap(dv, USER, new)
    check(f"[{label}] after rotate: new password works on IMAP", ok, msg)
    ok, msg = pop3(dv, USER, new)
    check(f"[{label}] after rotate: new password works on POP3", ok, msg)

    pd.cli("device", "disconnect", USER, phone)
    ok, msg = imap(dv, USER, new)
    check(f"[{label}] after disconnect: refused on IMAP", not ok and "AUTHENTICATIONFAILED" in msg, msg)
    ok, msg = pop3(dv, USER, new)
    check(f"[{label}] after disconnect: refused on POP3", not ok, msg)

    # Several auth-workers / checkpassword children at once.
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        res = list(ex.map(lambda i: (imap if i % 2 else pop3)(dv, USER, imap_only if i % 2 else "x"),
                          range(24)))
    check(f"[{label}] 24 parallel logins (12 IMAP ok, 12 POP3 refused) all answered right",
          all(r[0] == (i % 2 == 1) for i, r in enumerate(res)),
          [r for i, r in enumerate(res) if r[0] != (i % 2 == 1)][:3])

    # posternd restarted: the Lua script's kept connections are stale.
    pd.stop()
    pd.start()
    ok1, msg1 = imap(dv, USER, imap_only)
    ok2, msg2 = imap(dv, USER, imap_only)
    check(f"[{label}] posternd restarted: IMAP logins work (reconnect)", ok1 and ok2, f"{msg1} / {msg2}")

    # posternd down: a temporary failure, not "wrong password".
    pd.stop()
    ok, imsg = imap(dv, USER, imap_only)
    check(f"[{label}] posternd down: IMAP NO [UNAVAILABLE]", not ok and "UNAVAILABLE" in imsg, imsg)
    ok, pmsg = pop3(dv, USER, imap_only)
    check(f"[{label}] posternd down: POP3 -ERR [SYS/TEMP]", not ok and "TEMP" in pmsg, pmsg)
    pd.start()
    ok, msg = imap(dv, USER, imap_only)
    check(f"[{label}] posternd back: IMAP works", ok, msg)
    return imap_only


def time_logins(dv, password, n):
    """n sequential IMAP LOGIN+LOGOUT; seconds per login."""
    t0 = time.monotonic()
    bad = 0
    for _ in range(n):
        ok, _msg = imap(dv, USER, password)
        bad += not ok
    check(f"{n} sequential IMAP logins all ok", bad == 0, f"{bad} failed")
    return (time.monotonic() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("POSTERN_BIN", "/tmp/postern-bin"))
    ap.add_argument("--logins", type=int, default=50)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if os.geteuid() != 0:
        sys.exit("run as root")

    root = tempfile.mkdtemp(prefix="postern-e2e-dovecot-")
    os.chmod(root, 0o711)
    bin_dir = os.path.join(root, "bin")
    os.makedirs(bin_dir)
    for b in ("posternd", "postern"):
        shutil.copy2(os.path.join(args.bin, b), bin_dir)
    os.chmod(bin_dir, 0o755)
    timings = {}
    ports = (dovecot.free_port(), dovecot.free_port())
    pd = Posternd(os.path.join(root, "postern"), bin_dir)
    instances = []
    try:
        pd.start()
        pd.cli("org", "add", "Ex")
        pd.cli("service", "add", "ex", "--organization", "Ex", "--domain", "example.org")
        pd.cli("mailbox", "add", USER)

        # 1. passdb lua
        print(f"passdb lua: imap 127.0.0.1:{ports[0]}, pop3 127.0.0.1:{ports[1]}")
        dv = dovecot.PrivateDovecot(os.path.join(root, "dv-lua"), pd.auth_socket, *ports)
        instances.append(dv)
        with dv:
            timings["lua: dovecot start"] = dv.start_seconds
            pw = suite("lua", dv, pd)
            log = dv.log()
            lines = log.splitlines()
            down = [i for i, line in enumerate(lines)
                    if "passdb-lua: postern: connect(" + pd.auth_socket in line]
            errors = [line for line in lines[:down[0] if down else None]
                      if "Error" in line or "Fatal" in line or "Panic" in line]
            check("no Dovecot error while posternd was up", not errors, errors[:3])
            check("posternd down: passdb-lua error names the test socket (POSTERN_AUTH_SOCKET via import_environment)", bool(down),
                  lines[down[0]].split(": ", 2)[-1] if down else "")
            timings["lua: per IMAP login"] = time_logins(dv, pw, args.logins)
            if failures:
                print(dv.log_tail())
        timings["lua: dovecot stop"] = dv.stop_seconds
        check("no process of the lua instance left", not dv.pids())

        # 2. passdb checkpassword (same ports: proves a clean stop)
        print("passdb checkpassword")
        dv = dovecot.PrivateDovecot(os.path.join(root, "dv-cp"), pd.auth_socket, *ports,
                                    passdb="checkpassword",
                                    checkpassword_cmd=os.path.join(bin_dir, "postern"))
        instances.append(dv)
        with dv:
            timings["checkpassword: dovecot start"] = dv.start_seconds
            pw = suite("checkpassword", dv, pd)
            timings["checkpassword: per IMAP login"] = time_logins(dv, pw, args.logins)
            if failures:
                print(dv.log_tail())
        timings["checkpassword: dovecot stop"] = dv.stop_seconds
        check("no process of the checkpassword instance left", not dv.pids())
    except Exception:
        for dv in instances:
            print(dv.log_tail())
        print(pd.log_tail())
        raise
    finally:
        for dv in instances:
            dv.stop()
        pd.stop()
        shutil.rmtree(root, ignore_errors=True)

    check("nothing listens on the test ports", not any(dovecot.port_open(p) for p in ports))
    check("no system IMAP/POP3: nothing on ports 143, 110",
          not dovecot.port_open(143) and not dovecot.port_open(110))
    print("timings: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in timings.items()))
    if failures:
        print(f"{len(failures)} check(s) FAILED")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
