#!/usr/bin/env python3
"""Self-check of harness.py against a REAL Dovecot auth server (stand-in for
Postern), plus a tiny Python server that closes instead of answering.

Run as root:  python3 scripts/e2e/selftest_harness.py
Exit 0 when every check passes.  Cleans up all processes and files.

Dovecot is private: own base_dir/state_dir/log_path/instance_name under a
temp dir, no protocols, passwd-file passdb, auth_cache_size = 0,
auth_failure_delay = 0 (a FAIL still takes ~0.5 s: Dovecot's tick), the
client listener at an absolute path with mode 0666, and the anvil penalty
disabled (else a success after failures takes seconds and Postfix gives up
on the auth server after 10 s: 454 "Connection lost to authentication
server").
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

USER, PASSWORD = "alice@example.org", "secret"
TEMPFAIL_USER = "tempfail@example.org"  # checkpassword exit 111 -> code=temp_fail

DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
instance_name = {instance}
log_path = {d}/dovecot.log
protocols =
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_cache_size = 0
auth_failure_delay = 0
passdb {{
  driver = checkpassword
  args = {d}/tempfail.sh
  username_filter = {tempfail_user}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}}
service auth {{
  unix_listener {socket} {{
    mode = 0666
  }}
}}
# Auth cannot connect to this socket, so Dovecot's anvil penalty (delaying
# every request from an IP after a failure, up to 15 s) is silently off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""

failures = []


def check(label, cond, detail=""):
    print(f"  {'ok  ' if cond else 'FAIL'} {label}" + (f"  [{detail}]" if detail else ""))
    if not cond:
        failures.append(label)


def wait_connectable(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(path)
                return True
        except OSError:
            time.sleep(0.05)
    return False


def pids_with_cmdline_prefix(prefix):
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open(f"/proc/{e}/cmdline", "rb") as f:
                    if f.read().startswith(prefix.encode()):
                        out.append(int(e))
            except OSError:
                pass
    return out


class PrivateDovecot:
    """A private Dovecot running only its auth service (foreground -F)."""

    def __init__(self, d, socket_path):
        self.d, self.socket_path = d, socket_path
        self.instance = f"postern-selftest-{os.getpid()}"
        self.proc = None

    def __enter__(self):
        os.makedirs(self.d, exist_ok=True)
        with open(os.path.join(self.d, "users"), "w") as f:
            f.write(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        script = os.path.join(self.d, "tempfail.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexit 111\n")
        os.chmod(script, 0o755)
        conf = os.path.join(self.d, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=self.d, instance=self.instance,
                                        socket=self.socket_path,
                                        tempfail_user=TEMPFAIL_USER))
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", conf],
                                     stdin=subprocess.DEVNULL)
        if not wait_connectable(self.socket_path):
            self.__exit__()
            raise RuntimeError("private dovecot did not come up:\n" + self.log())
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # children carry the title "dovecot-<instance>/<service>"
        deadline = time.monotonic() + 5
        while pids_with_cmdline_prefix(f"dovecot-{self.instance}/"):
            if time.monotonic() > deadline:
                for p in pids_with_cmdline_prefix(f"dovecot-{self.instance}/"):
                    os.kill(p, signal.SIGKILL)
                break
            time.sleep(0.05)
        return False

    def log(self):
        try:
            with open(os.path.join(self.d, "dovecot.log")) as f:
                return f.read()[-3000:]
        except OSError as e:
            return str(e)


class ClosingServer(threading.Thread):
    """Speaks the server handshake, then closes on every AUTH (Postfix's
    only way to 454, doveadm's exit 75)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.listen(16)
        self.stopping = False

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with conn, contextlib.suppress(OSError):
            conn.sendall(b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
                         b"SPID\t%d\nCUID\t1\nCOOKIE\t%s\nDONE\n" % (os.getpid(), b"ab" * 16))
            for line in conn.makefile("rb"):
                if line.startswith(b"AUTH\t"):
                    return

    def close(self):
        self.stopping = True
        self.sock.close()


def main():
    sys.stdout.reconfigure(line_buffering=True)
    if os.geteuid() != 0:
        sys.exit("run as root")
    root = tempfile.mkdtemp(prefix="postern-e2e-selftest-")
    os.chmod(root, 0o711)  # smtpd (user postfix) must traverse it
    auth_sock = os.path.join(root, "auth.sock")
    port = harness.free_port()
    timings = {}
    instance = None
    try:
        with PrivateDovecot(os.path.join(root, "dovecot"), auth_sock) as dv:
            instance = dv.instance
            check("postfix user can reach the dovecot socket",
                  *harness.postfix_can_connect(auth_sock))
            pf_dir = os.path.join(root, "pf1")
            with harness.PrivatePostfix(pf_dir, auth_sock, port) as pf:
                timings["start#1 (fresh dir)"] = pf.start_seconds
                print(f"Postfix on 127.0.0.1:{port}, master pid {pf.master_pid}")
                cases = [
                    ("PLAIN", PASSWORD, None, 235),
                    ("LOGIN", PASSWORD, None, 235),
                    ("PLAIN", PASSWORD, False, 235),   # AUTH PLAIN, then 334 ""
                    ("LOGIN", PASSWORD, True, 235),    # AUTH LOGIN <user>
                    ("PLAIN", "wrong", None, 535),
                    ("LOGIN", "wrong", None, 535),
                ]
                for mech, pw, ir, want in cases:
                    t0 = time.monotonic()
                    code, msg = harness.smtp_auth(port, USER, pw, mech, initial_response=ir)
                    check(f"smtp_auth {mech} ir={ir} pw={pw} -> {want}", code == want,
                          f"{code} {msg} {time.monotonic() - t0:.2f}s")
                code, msg = harness.smtp_auth(port, "nobody@example.org", "x", "PLAIN")
                check("smtp_auth unknown user -> 535", code == 535, f"{code} {msg}")
                code, msg = harness.smtp_auth(port, TEMPFAIL_USER, "x", "PLAIN")
                check("smtp_auth code=temp_fail -> 535 (Postfix 3.7)", code == 535, f"{code} {msg}")
            timings["stop#1"] = pf.stop_seconds
            check("no process of instance 1 left", not harness._instance_pids(pf.config_dir))

            # Same tmpdir again, right away.
            with harness.PrivatePostfix(pf_dir, auth_sock, port) as pf:
                timings["start#2 (same dir)"] = pf.start_seconds
                code, msg = harness.smtp_auth(port, USER, PASSWORD, "PLAIN")
                check("restart in same tmpdir: PLAIN -> 235", code == 235, f"{code} {msg}")
            timings["stop#2"] = pf.stop_seconds

            # doveadm against the real Dovecot
            ok, out = harness.doveadm_auth_test(auth_sock, USER, PASSWORD)
            check("doveadm right password -> ok", ok and "auth succeeded" in out, out.strip())
            ok, out = harness.doveadm_auth_test(auth_sock, USER, "wrong")
            check("doveadm wrong password -> not ok", not ok and "auth failed" in out, out.strip())
            ok, out = harness.doveadm_auth_test(auth_sock, TEMPFAIL_USER, "x")
            f = harness.doveadm_fields(out)
            check("doveadm temp_fail -> not ok, code=temp_fail",
                  not ok and f.get("code") == "temp_fail", out.strip())
            ok, out = harness.doveadm_auth_test(os.path.join(root, "missing.sock"), USER, PASSWORD)
            check("doveadm missing socket -> not ok", not ok, out.strip())
            if failures:
                print(dv.log())

        # Second tmpdir, another backend: a server that closes on AUTH.
        close_sock = os.path.join(root, "close.sock")
        srv = ClosingServer(close_sock)
        srv.start()
        try:
            pf_dir2 = os.path.join(root, "pf2")
            with harness.PrivatePostfix(pf_dir2, close_sock, port) as pf:
                timings["start#3 (other dir)"] = pf.start_seconds
                code, msg = harness.smtp_auth(port, USER, PASSWORD, "PLAIN")
                check("server closes on AUTH -> 454", code == 454, f"{code} {msg}")
            timings["stop#3"] = pf.stop_seconds
            ok, out = harness.doveadm_auth_test(close_sock, USER, PASSWORD)
            check("doveadm, server closes -> not ok, field temp",
                  not ok and harness.doveadm_fields(out).get("temp") is True, out.strip())
        finally:
            srv.close()
    except Exception:
        for d in ("pf1", "pf2"):
            if os.path.isdir(os.path.join(root, d)):
                harness.print_log_tail(os.path.join(root, d))
        raise
    finally:
        if failures:
            for d in ("pf1", "pf2"):
                harness.print_log_tail(os.path.join(root, d))
        shutil.rmtree(root, ignore_errors=True)

    # Only this run's instances: other tests may run Postfix/Dovecot too.
    left = [p for d in ("pf1", "pf2")
            for p in harness._instance_pids(harness._layout(os.path.join(root, d))["config"])]
    left += pids_with_cmdline_prefix(f"dovecot-{instance}/")
    check("no process of this run left (2 Postfix, 1 Dovecot)", not left, str(left))
    check(f"nothing listens on 127.0.0.1:{port}", not harness._port_open(port))
    check("no system MTA/IMAP: nothing on ports 25, 143",
          not harness._port_open(25) and not harness._port_open(143))
    print("timings: " + ", ".join(f"{k} {v:.3f}s" for k, v in timings.items()))
    if failures:
        print(f"{len(failures)} check(s) FAILED")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
