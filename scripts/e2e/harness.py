"""End-to-end test harness: a real, private Postfix smtpd and `doveadm auth test`.

Python 3 standard library only.  Must run as root (Postfix's master and
post-install need it).  Checked on Debian 12: Postfix 3.7.11, Dovecot 2.3.19.1.

    with PrivatePostfix(tmpdir, "/tmp/t/postern-auth.sock", 2525) as pf:
        code, msg = smtp_auth(pf.port, "alice@example.org", "secret", "PLAIN")
        assert code == 235, print_log_tail(tmpdir)
    ok, out = doveadm_auth_test("/tmp/t/postern-auth.sock", "alice@example.org", "secret")

Permissions the auth socket needs (smtpd runs as user `postfix`, uid and
primary group `postfix` plus its supplementary groups from /etc/group):
  * the socket file must be writable by `postfix`: mode 0666 (o+w), or
    group `postfix` and g+w (0660/0620).  Read bits do not matter; connect(2)
    on a unix socket only checks write permission on the socket inode.
  * EVERY directory on the path must be searchable (x) by `postfix`: o+x
    (0711 is enough, 0755 fine) or group postfix with g+x (0710/0750).
    tempfile.mkdtemp() makes 0700 directories: chmod them (0o711).
  Symptom otherwise: smtpd logs `warning: SASL: Connect to Dovecot auth
  socket '<path>' failed: Permission denied`, then `fatal: no SASL
  authentication mechanisms`, dies before the 220 banner, and master then
  throttles the whole smtp service (`bad command startup -- throttling`,
  60 s).  postfix_can_connect(path) checks all of this for real.

The auth socket must be listening BEFORE PrivatePostfix starts: the 220
banner wait below makes smtpd connect to it (see PROTOCOLS.md section 1).
"""

import grp
import os
import pwd
import pty
import select
import signal
import smtplib
import socket
import subprocess
import time

POSTFIX = "/usr/sbin/postfix"
DOVEADM = "/usr/bin/doveadm"

# What an operator puts in /etc/postfix/main.cf to use Postern: conf/postfix-main.cf, used
# as is, but for smtpd_sasl_path (an absolute path: this smtpd is not chrooted) and the keys
# the test-only part below sets (no TLS here, so AUTH must be allowed without it).
CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
_TEST_ONLY_KEYS = {"smtpd_tls_auth_only", "broken_sasl_auth_clients"}


def operator_lines(snippet, sasl_path=None):
    """conf/<snippet> as is, with smtpd_sasl_path pointed at sasl_path when given."""
    out = [f"# --- Postern: conf/{snippet} ---\n"]
    for line in open(os.path.join(CONF_DIR, snippet)).read().splitlines(True):
        key = line.split("=")[0].strip()
        if key == "smtpd_sasl_path" and sasl_path:
            line = f"smtpd_sasl_path = {sasl_path}\n"
        elif key in _TEST_ONLY_KEYS:
            continue
        out.append(line)
    return "".join(out)


def cyrus_sasl_conf(saslauthd_path):
    """conf/cyrus-sasl-smtpd.conf with saslauthd_path pointed at the test's socket."""
    out = []
    for line in open(os.path.join(CONF_DIR, "cyrus-sasl-smtpd.conf")).read().splitlines(True):
        if line.startswith("saslauthd_path:"):
            line = f"saslauthd_path: {saslauthd_path}\n"
        out.append(line)
    return "".join(out)


# Everything else in the private main.cf: test-only.
_TEST_MAIN_CF = """\
# --- test-only private instance (Postern e2e harness) ---
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-e2e
maillog_file = {maillog}
maillog_file_prefixes = {logdir}
myhostname = postern-e2e.example
mydomain = example
mydestination =
# empty: 127.0.0.1 gets no relay right without SASL AUTH
mynetworks =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
biff = no
# Nothing ever leaves: every transport discards.
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
smtpd_tls_security_level = none
smtpd_tls_auth_only = no
broken_sasl_auth_clients = yes
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0
smtpd_banner = $myhostname ESMTP postern-e2e
"""

# Only the services smtpd and an accepted message need; no pickup, no
# tlsmgr, nothing chrooted, one inet listener.
_MASTER_CF = """\
127.0.0.1:{port} inet n  -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _layout(tmpdir):
    """Paths of the private instance below tmpdir."""
    base = os.path.join(os.path.abspath(tmpdir), "postfix")
    return {
        "base": base,
        "config": os.path.join(base, "etc"),
        "queue": os.path.join(base, "spool"),
        "data": os.path.join(base, "data"),
        "logdir": os.path.join(base, "log"),
        "maillog": os.path.join(base, "log", "maillog"),
    }


_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that is free right now (for smtp_port), and never one handed out
    before in this run (a port handed out but not bound yet is free too)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _read_banner(port, timeout):
    """Return the first reply line of 127.0.0.1:port, or '' on failure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            data = b""
            while b"\n" not in data:
                chunk = s.recv(512)
                if not chunk:
                    break
                data += chunk
            try:
                s.sendall(b"QUIT\r\n")
            except OSError:
                pass
            return data.decode("latin-1").strip()
    except OSError:
        return ""


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _instance_pids(config_dir, master_pid=None):
    """Pids of processes of this instance: MAIL_CONFIG=config_dir in their
    environment (master exports it to every child), or in master's session."""
    marker = b"MAIL_CONFIG=" + config_dir.encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read() + b"\0"
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z":
            continue
        session = int(fields[3])
        if (b"\0" + marker) in (b"\0" + env) or (master_pid and session == master_pid):
            found.append(pid)
    return found


def postfix_can_connect(socket_path, user="postfix"):
    """Try to connect to socket_path as `user` (default postfix), the way
    smtpd does.  Returns (True, "") or (False, "<errno text>").  Opens and
    closes one real connection to the auth server."""
    pw = pwd.getpwnam(user)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop privileges and try
        os.close(r)
        msg = b""
        try:
            os.setgroups([g.gr_gid for g in grp.getgrall() if user in g.gr_mem])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(socket_path)
        except Exception as e:  # report anything to the parent
            msg = str(e).encode() or b"error"
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        msg = f.read().decode()
    os.waitpid(pid, 0)
    return (msg == "", msg)


class PrivatePostfix:
    """A private Postfix instance: its own config, queue, data and log
    directories under tmpdir/postfix/, one smtpd on 127.0.0.1:smtp_port
    doing SMTP AUTH against the Dovecot-protocol socket auth_socket_path.

    tmpdir gets o+x added (Postfix opens files below it as user postfix);
    its parent directories must already be searchable by others (/tmp is).

    Context manager: __enter__ writes the config, runs `postfix -c DIR
    start` and waits for the 220 banner; __exit__ stops master and makes
    sure no process of the instance is left.  Other instances (the system
    one included) do not interfere: everything is keyed by config_directory
    and queue_directory.  Re-entrant after stop; the same or another tmpdir
    can be used next.

    extra_main_cf: dict of extra/overriding main.cf parameters (e.g.
    smtpd_sender_login_maps).  check_socket: before start, verify with
    postfix_can_connect() that the postfix user can reach the auth socket
    (costs one connection to the auth server).
    """

    def __init__(self, tmpdir, auth_socket_path, smtp_port, extra_main_cf=None,
                 check_socket=True, start_timeout=30.0, cyrus=False):
        self.tmpdir = os.path.abspath(tmpdir)
        # A unix socket path, or Postfix's inet:HOST:PORT for Postern's loopback TCP listener.
        self.auth_socket_path = auth_socket_path if auth_socket_path.startswith("inet:") else os.path.abspath(auth_socket_path)
        self.port = int(smtp_port)
        self.extra_main_cf = dict(extra_main_cf or {})
        self.check_socket = check_socket
        # cyrus=True: conf/postfix-main-cyrus.cf and conf/cyrus-sasl-smtpd.conf, with
        # auth_socket_path as the saslauthd socket; otherwise conf/postfix-main.cf (Dovecot protocol).
        self.cyrus = cyrus
        self.start_timeout = start_timeout
        self.paths = _layout(self.tmpdir)
        self.config_dir = self.paths["config"]
        self.maillog = self.paths["maillog"]
        self.master_pid = None
        self.start_seconds = None
        self.stop_seconds = None

    # -- configuration -----------------------------------------------------
    def write_config(self):
        """Create the directories and write main.cf and master.cf."""
        p = self.paths
        # master opens data_directory/master.lock as user postfix, so tmpdir
        # must be searchable by postfix: add o+x (mkdtemp gives 0700).
        os.makedirs(self.tmpdir, exist_ok=True)
        os.chmod(self.tmpdir, os.stat(self.tmpdir).st_mode & 0o7777 | 0o001)
        for d in (p["base"], p["config"], p["queue"], p["logdir"]):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)  # root-owned, not group/other writable
        if self.cyrus:
            # Debian's Postfix reads <config_directory>/sasl/smtpd.conf (cyrus_sasl_config_path is not used).
            sasl_dir = os.path.join(p["config"], "sasl")
            os.makedirs(sasl_dir, exist_ok=True)
            with open(os.path.join(sasl_dir, "smtpd.conf"), "w") as f:
                f.write(cyrus_sasl_conf(self.auth_socket_path))
            main = operator_lines("postfix-main-cyrus.cf") + "\n"
        else:
            main = operator_lines("postfix-main.cf", self.auth_socket_path) + "\n"
        main += _TEST_MAIN_CF.format(**p)
        if self.extra_main_cf:
            # Drop the lines being overridden (Postfix warns about duplicates).
            main = "".join(line for line in main.splitlines(True)
                           if line.split("=")[0].strip() not in self.extra_main_cf)
            main += "\n# --- test-specific ---\n"
            main += "".join(f"{k} = {v}\n" for k, v in self.extra_main_cf.items())
        with open(os.path.join(p["config"], "main.cf"), "w") as f:
            f.write(main)
        with open(os.path.join(p["config"], "master.cf"), "w") as f:
            f.write(_MASTER_CF.format(port=self.port))
        # Postfix re-reads a config file modified within the current second
        # until it is a second old (300 ms naps, in every program that loads
        # main.cf): backdate both files so that start does not pay ~1-2 s.
        old = time.time() - 60
        for name in ("main.cf", "master.cf"):
            os.utime(os.path.join(p["config"], name), (old, old))

    def _postfix(self, *args, check=True):
        """Run `postfix -c DIR ARGS`.  With maillog_file set, postfix(1),
        postfix-script and master log their startup errors only to the
        maillog (often not yet open) or to a terminal: give them a pty as
        stderr so that the errors end up in the exception text."""
        env = dict(os.environ, MAIL_CONFIG=self.config_dir)
        master_fd, slave_fd = pty.openpty()
        try:
            r = subprocess.run([POSTFIX, "-c", self.config_dir, *args], env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=slave_fd, text=True, timeout=60)
        finally:
            os.close(slave_fd)
            chunks = []
            while select.select([master_fd], [], [], 0.05)[0]:
                try:
                    data = os.read(master_fd, 65536)
                except OSError:  # EIO: no writer left
                    break
                if not data:
                    break
                chunks.append(data)
            os.close(master_fd)
        r.stderr = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
        if check and r.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed ({r.returncode}):\n"
                               f"{r.stdout}{r.stderr}\n{self.log_tail()}")
        return r

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.paths["queue"], "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        """Write config, start Postfix, wait for the 220 banner."""
        t0 = time.monotonic()
        # A leftover of an earlier crashed run on this tmpdir: clear it.
        if _instance_pids(self.config_dir):
            self.stop()
        if _port_open(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use")
        if self.check_socket and not self.auth_socket_path.startswith("inet:"):
            ok, err = postfix_can_connect(self.auth_socket_path)
            if not ok:
                raise RuntimeError(
                    f"user postfix cannot connect to {self.auth_socket_path}: {err} "
                    "(socket must be listening, writable by postfix, every "
                    "parent directory searchable by postfix)")
        self.write_config()
        # `postfix start` returns once master has bound its sockets
        # (master -w).  Its own errors go to the maillog, not to stderr.
        self._postfix("start")
        self.master_pid = self._read_master_pid()
        deadline = time.monotonic() + self.start_timeout
        banner = ""
        while time.monotonic() < deadline:
            banner = _read_banner(self.port, min(5.0, max(0.1, deadline - time.monotonic())))
            if banner.startswith("220"):
                break
            time.sleep(0.05)
        else:
            log = self.log_tail()
            self.stop()
            raise RuntimeError(f"no 220 banner on port {self.port} (got {banner!r}):\n{log}")
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout=10.0):
        """Stop master (SIGTERM, as `postfix stop` does, without its 1 s
        polling), then SIGKILL any leftover process of this instance."""
        t0 = time.monotonic()
        pid = self._read_master_pid() or self.master_pid
        if pid and _pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
        # Children die with master (it signals its process group); wait
        # briefly, then kill whatever is left.
        deadline = time.monotonic() + 2.0
        while True:
            left = _instance_pids(self.config_dir, pid)
            if not left:
                break
            if time.monotonic() > deadline:
                for p in left:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed_by = time.monotonic() + 2.0
                while _instance_pids(self.config_dir, pid):
                    if time.monotonic() > killed_by:
                        raise RuntimeError(f"Postfix processes survived SIGKILL: {left}")
                    time.sleep(0.01)
                break
            time.sleep(0.01)
        self.master_pid = None
        self.stop_seconds = time.monotonic() - t0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def log_tail(self, lines=60):
        """The last lines of this instance's maillog, as one string."""
        return _tail(self.maillog, lines)


def _tail(path, lines):
    try:
        with open(path, errors="replace") as f:
            text = f.readlines()[-lines:]
    except OSError as e:
        return f"(no log at {path}: {e})"
    return f"--- {path} (last {len(text)} lines) ---\n" + "".join(text)


def print_log_tail(tmpdir, lines=60):
    """Print (and return) the tail of the private Postfix log of tmpdir."""
    text = _tail(_layout(tmpdir)["maillog"], lines)
    print(text, flush=True)
    return text


def smtp_auth(port, user, password, mechanism, initial_response=None, timeout=15.0):
    """SMTP AUTH against 127.0.0.1:port with a forced mechanism.

    mechanism: "PLAIN" or "LOGIN".  initial_response: send the first
    response on the AUTH line (default: True for PLAIN, False for LOGIN, the
    usual client behaviour; LOGIN with True sends the username there).
    Returns (code, message): 235 success, 535 failure, 454 temporary
    failure, 503/504 other protocol answers; 0 when no SMTP reply came
    (connection closed or timed out: message says which).  Never raises for
    an auth result; raises ConnectionRefusedError if nothing listens.
    """
    mech = mechanism.upper()
    if mech not in ("PLAIN", "LOGIN"):
        raise ValueError(f"unsupported mechanism {mechanism!r}")
    if initial_response is None:
        initial_response = mech == "PLAIN"
    smtp = smtplib.SMTP(timeout=timeout)
    try:
        try:
            code, msg = smtp.connect("127.0.0.1", port)
            if code != 220:
                return code, msg.decode(errors="replace")
            smtp.ehlo("client.example")
            smtp.user, smtp.password = user, password
            authobject = smtp.auth_plain if mech == "PLAIN" else smtp.auth_login
            code, msg = smtp.auth(mech, authobject, initial_response_ok=initial_response)
        except smtplib.SMTPAuthenticationError as e:
            code, msg = e.smtp_code, e.smtp_error
        except smtplib.SMTPServerDisconnected as e:
            return 0, f"connection closed: {e}"
        except (socket.timeout, TimeoutError) as e:
            return 0, f"timeout: {e}"
        return code, msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def doveadm_auth_test(socket_path, user, password, extra_fields=(), timeout=30.0):
    """Run `doveadm -c /dev/null auth test -a SOCKET [-x k=v...] USER PASSWORD`
    (extra_fields: ["rip=192.0.2.7", ...], sent as request fields).

    No running Dovecot is needed: doveadm only parses a config file and
    connects to SOCKET itself.  The default /etc/dovecot/dovecot.conf of
    dovecot-core works too, `-c /dev/null` just keeps the system config out.
    doveadm always uses PLAIN, with authzid = authcid, service=doveadm.

    Returns (ok, output), output = stdout + stderr.  ok is True iff exit 0.
    What doveadm 2.3.19 does (checked):
      OK <id> user=U      exit 0   "passdb: USER auth succeeded" + extra fields
                                   (also exit 0 for an OK without user=)
      FAIL <id> user=U    exit 77  "passdb: USER auth failed" + extra fields
      FAIL ... code=temp_fail      exit 77, same text, extra field "code=temp_fail"
      FAIL ... temp reason=R       exit 77, extra fields "temp", "reason=R"
      server closes with the request pending: exit 75, "auth failed",
                                   extra field "temp", stderr "Fatal: Couldn't
                                   connect to auth socket"
      socket missing/refused: exit 77, stdout empty, stderr "Error: auth-client:
                                   conn unix:SOCKET: connect(SOCKET) failed: ..."
      server never answers: doveadm waits forever -> subprocess.TimeoutExpired.
    Use doveadm_fields(output) to look at the extra fields.
    """
    cmd = [DOVEADM, "-c", "/dev/null", "auth", "test", "-a", socket_path,
           *[arg for field in extra_fields for arg in ("-x", field)], user, password]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return r.returncode == 0, r.stdout + r.stderr


def doveadm_fields(output):
    """The "extra fields:" of a doveadm auth test output as a dict
    ({"user": "alice@x", "code": "temp_fail", "temp": True, ...})."""
    fields, inside = {}, False
    for line in output.splitlines():
        if line.startswith("extra fields:"):
            inside = True
        elif inside and line.startswith("  "):
            key, sep, value = line.strip().partition("=")
            fields[key] = value if sep else True
        else:
            inside = False
    return fields


def dovecot_auth(socket_path, user, password, service="smtp", rip=None, timeout=15.0):
    """One AUTH PLAIN over the Dovecot auth protocol, as Postfix sends it (PROTOCOLS.md section 1),
    on a fresh connection. Returns (reply line without its id, seconds from the AUTH line to the
    answer): ("OK\tuser=...", 0.001). For timing answers precisely; doveadm and Postfix remain the
    real clients for what the answers mean."""
    import base64
    resp = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    fields = [f"service={service}", "nologin", "lip=127.0.0.1"] + ([f"rip={rip}"] if rip else [])
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        f = s.makefile("rb")
        s.sendall(b"VERSION\t1\t0\nCPID\t%d\n" % os.getpid())
        while f.readline().rstrip(b"\n") != b"DONE":
            pass
        started = time.monotonic()
        s.sendall(("\t".join(["AUTH", "1", "PLAIN", *fields, f"resp={resp}"]) + "\n").encode())
        line = f.readline().decode().rstrip("\n")
        took = time.monotonic() - started
    kind, _, rest = line.partition("\t1")
    return kind + rest, took


def dovecot_auth_flood(socket_path, requests, window=200):
    """Sends many AUTH PLAIN requests on one connection, `window` in flight at a time (pipelined,
    as Dovecot's own clients may); requests: [(user, password, rip)]. Returns the answers' kinds
    ("OK"/"FAIL") in order of arrival."""
    import base64
    kinds = []
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(60)
        s.connect(socket_path)
        f = s.makefile("rb")
        s.sendall(b"VERSION\t1\t0\nCPID\t%d\n" % os.getpid())
        while f.readline().rstrip(b"\n") != b"DONE":
            pass
        for start in range(0, len(requests), window):
            batch = requests[start:start + window]
            lines = []
            for i, (user, password, rip) in enumerate(batch, start + 1):
                resp = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
                lines.append(f"AUTH\t{i}\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip={rip}\tresp={resp}\n")
            s.sendall("".join(lines).encode())
            for _ in batch:
                kinds.append(f.readline().split(b"\t", 1)[0].decode())
    return kinds


def files_holding(secret, *roots):
    """Every file under the roots whose bytes contain `secret` (a clear text that must be stored nowhere)."""
    found = []
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "rb") as f:
                        if secret.encode() in f.read():
                            found.append(os.path.join(folder, name))
                except OSError:
                    pass
    return found
