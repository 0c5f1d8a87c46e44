"""End-to-end harness: a real, private Dovecot (imap + pop3) whose passdb asks Postern.

Python 3 standard library only.  Must run as root.  Checked on Debian 12: Dovecot
2.3.19.1 (dovecot-imapd, dovecot-pop3d, dovecot-auth-lua), lua-socket 3.1.

    with PrivateDovecot(tmpdir, "/tmp/t/run/auth.sock", 14300, 11000) as dv:
        ok, msg = imap_login(dv.imap_port, "alice@example.org", "secret")
        assert ok, dv.log_tail()
        ok, msg = pop3_login(dv.pop3_port, "alice@example.org", "secret")
    with PrivateDovecot(tmpdir, sock, 14300, 11000, passdb="checkpassword",
                        checkpassword_cmd="/tmp/postern-bin/postern") as dv: ...

The operator's files are used as is: the private dovecot.conf holds only test
settings (base_dir, ports, logs...) and `!include`s a copy of
conf/dovecot-postern.conf (passdb="lua") or conf/dovecot-postern-checkpassword.conf
(passdb="checkpassword") in which exactly these strings are rewritten (each must
occur, else the harness raises, so a changed snippet cannot be silently skipped):
  /run/postern/auth.sock                      -> auth_socket_path
  /etc/dovecot/postern-passdb.lua             -> lua_script (default: conf/postern-passdb.lua
                                                 of this repository, read in place)
  /usr/local/bin/postern                      -> checkpassword_cmd
  uid=vmail gid=vmail home=/var/mail/%d/%n    -> uid=nobody gid=nogroup home=<tmpdir>/mail/%d/%n

Permissions: the Lua script runs in auth-worker processes (root); checkpassword
runs in the auth process (user dovecot): the auth socket must be writable by
dovecot (mode 0666) and every directory on its path searchable (o+x; mkdtemp
gives 0700: chmod 0711).  Mail is delivered to maildirs under tmpdir/mail owned
by nobody.  The anvil auth penalty is off (test setting) and auth_failure_delay
is 0, so a failed login costs ~0.5 s (Dovecot's failure tick) instead of 2+ s.
"""

import imaplib
import os
import sys
import poplib
import pwd
import grp
import signal
import socket
import subprocess
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import _port_open as port_open, _tail, free_port  # noqa: E402,F401

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
CONF_DIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf"))
LUA_SCRIPT = os.path.join(CONF_DIR, "postern-passdb.lua")

# Placeholders in the operator snippets (see the module docstring).
SOCKET_PLACEHOLDER = "/run/postern/auth.sock"
LUA_PLACEHOLDER = "/etc/dovecot/postern-passdb.lua"
POSTERN_PLACEHOLDER = "/usr/local/bin/postern"
USERDB_PLACEHOLDER = "uid=vmail gid=vmail home=/var/mail/%d/%n"

SNIPPETS = {"lua": "dovecot-postern.conf", "checkpassword": "dovecot-postern-checkpassword.conf"}

# Everything else in the private dovecot.conf: test-only.
_TEST_CONF = """\
# --- test-only private instance (Postern e2e harness) ---
base_dir = {d}/run
state_dir = {d}/state
instance_name = {instance}
log_path = {d}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
mail_location = maildir:~/Maildir
auth_verbose = yes
auth_failure_delay = 0
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
# Auth cannot connect to this socket, so Dovecot's anvil penalty (delaying every
# request from an IP after a failure, up to 15 s) is silently off.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{extra}
# --- Postern: conf/{snippet}, as shipped but for the rewritten paths ---
!include {d}/{snippet}
"""


def operator_snippet(name, replacements):
    """conf/<name> with each placeholder replaced; every placeholder must occur."""
    with open(os.path.join(CONF_DIR, name)) as f:
        text = f.read()
    for old, new in replacements.items():
        if old not in text:
            raise RuntimeError(f"conf/{name} no longer contains {old!r}: update dovecot.py")
        if " " in new and old != USERDB_PLACEHOLDER:
            raise ValueError(f"{new!r}: Dovecot splits these args at spaces")
        text = text.replace(old, new)
    return text


def _banner(port, timeout=2.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
            return data.decode("latin-1").strip()
    except OSError:
        return ""


def _proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _pids(instance, session):
    """Live processes of one private Dovecot: in the master's session (it runs
    with start_new_session) or titled "<instance>/..." / "dovecot-<instance>/..."."""
    prefixes = (f"{instance}/".encode(), f"dovecot-{instance}/".encode())
    found = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        st = _proc_stat(e)
        if st is None or st[0] == "Z":
            continue
        try:
            with open(f"/proc/{e}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if (session and int(st[3]) == session) or cmd.startswith(prefixes):
            found.append(int(e))
    return found


class PrivateDovecot:
    """A private Dovecot: imap on 127.0.0.1:imap_port, pop3 on 127.0.0.1:pop3_port,
    everything else (base_dir, state_dir, log, config) under tmpdir.

    passdb="lua": conf/dovecot-postern.conf + the Lua script (lua_script, default
    conf/postern-passdb.lua) talking to auth_socket_path.
    passdb="checkpassword": conf/dovecot-postern-checkpassword.conf running
    `<checkpassword_cmd> checkpassword --auth-socket <auth_socket_path>`;
    checkpassword_cmd is the path of the `postern` executable.
    extra_conf: more dovecot.conf text, placed before the snippet's !include.
    after_conf: dovecot.conf text placed after it (to override the snippet, e.g. turn the auth
    cache on to show that revocation flushes it).

    Context manager; start()/stop() may be called again (same or new tmpdir).
    start_seconds / stop_seconds hold the last durations.  tmpdir gets mode 0711.
    """

    def __init__(self, tmpdir, auth_socket_path, imap_port, pop3_port, passdb="lua",
                 checkpassword_cmd=None, lua_script=None, mail_user="nobody",
                 mail_group="nogroup", extra_conf="", start_timeout=20.0, after_conf=""):
        if passdb not in SNIPPETS:
            raise ValueError(f"passdb must be one of {sorted(SNIPPETS)}")
        if passdb == "checkpassword" and not checkpassword_cmd:
            raise ValueError("passdb='checkpassword' needs checkpassword_cmd (the postern executable)")
        self.d = os.path.abspath(tmpdir)
        self.auth_socket_path = os.path.abspath(auth_socket_path)
        self.imap_port, self.pop3_port = int(imap_port), int(pop3_port)
        self.passdb = passdb
        self.checkpassword_cmd = checkpassword_cmd and os.path.abspath(checkpassword_cmd)
        self.lua_script = os.path.abspath(lua_script or LUA_SCRIPT)
        self.mail_user, self.mail_group = mail_user, mail_group
        self.extra_conf = extra_conf
        self.after_conf = after_conf
        self.start_timeout = start_timeout
        self.instance = f"postern-e2e-{os.getpid()}-{id(self) & 0xffff:x}"
        self.config_path = os.path.join(self.d, "dovecot.conf")
        self.log_path = os.path.join(self.d, "dovecot.log")
        self.proc = None
        self.start_seconds = self.stop_seconds = None

    # -- configuration -----------------------------------------------------
    def write_config(self):
        d = self.d
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o711)
        for sub in ("run", "state"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        mail = os.path.join(d, "mail")
        os.makedirs(mail, exist_ok=True)
        os.chown(mail, pwd.getpwnam(self.mail_user).pw_uid, grp.getgrnam(self.mail_group).gr_gid)
        os.chmod(mail, 0o755)
        repl = {SOCKET_PLACEHOLDER: self.auth_socket_path,
                USERDB_PLACEHOLDER: f"uid={self.mail_user} gid={self.mail_group} home={mail}/%d/%n"}
        if self.passdb == "lua":
            repl[LUA_PLACEHOLDER] = self.lua_script
        else:
            repl[POSTERN_PLACEHOLDER] = self.checkpassword_cmd
        snippet = SNIPPETS[self.passdb]
        with open(os.path.join(d, snippet), "w") as f:
            f.write(operator_snippet(snippet, repl))
        with open(self.config_path, "w") as f:
            f.write(_TEST_CONF.format(d=d, instance=self.instance, imap_port=self.imap_port,
                                      pop3_port=self.pop3_port, snippet=snippet,
                                      extra=self.extra_conf))
            if self.after_conf:
                f.write("\n# --- test-specific, after the snippet ---\n" + self.after_conf + "\n")

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        """Write the config, start `dovecot -F`, wait for both greetings."""
        t0 = time.monotonic()
        for port in (self.imap_port, self.pop3_port):
            if port_open(port):
                raise RuntimeError(f"127.0.0.1:{port} is already in use")
        self.write_config()
        # Config errors: fail fast with doveconf's message.
        r = subprocess.run(["doveconf", "-c", self.config_path, "-n"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"doveconf rejects {self.config_path}:\n{r.stderr}")
        with open(self.log_path, "a"):
            pass
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.d, "dovecot.stderr"), "ab"),
                                     start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        want = {self.imap_port: "* OK", self.pop3_port: "+OK"}
        while want and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            for port, prefix in list(want.items()):
                if _banner(port).startswith(prefix):
                    del want[port]
            if want:
                time.sleep(0.05)
        if want:
            tail = self.log_tail()
            self.stop()
            raise RuntimeError(f"private dovecot did not greet on {sorted(want)}:\n{tail}")
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout=10.0):
        """SIGTERM the master (it stops every child), then SIGKILL leftovers."""
        t0 = time.monotonic()
        session = self.proc.pid if self.proc else None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        deadline = time.monotonic() + 3.0
        while _pids(self.instance, session):
            if time.monotonic() > deadline:
                for p in _pids(self.instance, session):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed_by = time.monotonic() + 2.0
                while left := _pids(self.instance, session):
                    if time.monotonic() > killed_by:
                        raise RuntimeError(f"Dovecot processes survived SIGKILL: {left}")
                    time.sleep(0.02)
                break
            time.sleep(0.02)
        self.proc = None
        self.stop_seconds = time.monotonic() - t0

    def pids(self):
        """Pids of this instance's processes (master included)."""
        return _pids(self.instance, self.proc.pid if self.proc else None)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- helpers -----------------------------------------------------------
    def log_tail(self, lines=60):
        """The last lines of this instance's log, as one string."""
        return _tail(self.log_path, lines)

    def log(self):
        """The whole log."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def doveadm(self, *args, timeout=30.0):
        """Run `doveadm -c <this config> ARGS` (kick, auth cache flush, who...).
        Returns the CompletedProcess (text)."""
        return subprocess.run([DOVEADM, "-c", self.config_path, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)


def _text(x):
    if isinstance(x, bytes):
        return x.decode(errors="replace")
    if isinstance(x, (list, tuple)):
        return " ".join(_text(i) for i in x)
    return str(x)


def imap_login(port, user, password, timeout=30.0, select=False):
    """IMAP LOGIN on 127.0.0.1:port.  Returns (ok, message): message is the
    server's text ("Logged in", "[AUTHENTICATIONFAILED] Authentication failed.",
    "[UNAVAILABLE] Temporary authentication failure. ..."), or the connection
    error.  select=True also SELECTs INBOX after a successful login (proves the
    mail process works).  Never raises for an auth result."""
    try:
        imap = imaplib.IMAP4("127.0.0.1", port, timeout=timeout)
    except OSError as e:
        return False, f"connect: {e}"
    try:
        try:
            typ, data = imap.login(user, password)
        except imaplib.IMAP4.error as e:
            return False, _text(e.args[0] if e.args else e)
        msg = _text(data)
        if select:
            typ, data = imap.select("INBOX")
            if typ != "OK":
                return False, f"logged in, SELECT failed: {_text(data)}"
        return typ == "OK", msg
    except (OSError, imaplib.IMAP4.abort) as e:
        return False, f"connection: {e}"
    finally:
        try:
            imap.logout()
        except Exception:
            try:
                imap.shutdown()
            except Exception:
                pass


def pop3_login(port, user, password, timeout=30.0):
    """POP3 USER/PASS on 127.0.0.1:port.  Returns (ok, message): "+OK Logged in."
    or "-ERR [AUTH] Authentication failed." / "-ERR [SYS/TEMP] ...".  After a
    success, STAT is sent too (the mailbox opened).  Never raises for an auth
    result."""
    try:
        pop = poplib.POP3("127.0.0.1", port, timeout=timeout)
    except OSError as e:
        return False, f"connect: {e}"
    ok = False
    try:
        try:
            pop.user(user)
            msg = _text(pop.pass_(password))
        except poplib.error_proto as e:
            return False, _text(e.args[0] if e.args else e)
        pop.stat()
        ok = True
        return True, msg
    except (OSError, poplib.error_proto) as e:
        return False, f"connection: {e}"
    finally:
        try:
            if ok:
                pop.quit()
            else:
                pop.close()
        except Exception:
            pop.close()
