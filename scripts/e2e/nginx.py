"""A private nginx mail proxy (Debian's nginx + libnginx-mod-mail) for end-to-end tests.

It uses conf/nginx-mail.conf as is, but for the auth_http address and the listen ports, which
point at the test's posternd and loopback ports. Must run as root.
"""

import os
import re
import signal
import socket
import subprocess
import time

CONF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf", "nginx-mail.conf")
MODULE = "/usr/lib/nginx/modules/ngx_mail_module.so"


def mail_block(auth_http, imap_port, pop3_port=None):
    """conf/nginx-mail.conf with the test's auth_http address and loopback listen ports."""
    text = open(CONF).read()
    text = re.sub(r"(?m)^(\s*)auth_http [^;]+;", lambda m: f"{m.group(1)}auth_http {auth_http};", text)
    text = re.sub(r"server \{ listen 143; protocol imap; \}", f"server {{ listen 127.0.0.1:{imap_port}; protocol imap; }}", text)
    pop3 = f"server {{ listen 127.0.0.1:{pop3_port}; protocol pop3; }}" if pop3_port else ""
    return re.sub(r"server \{ listen 110; protocol pop3; \}", pop3, text)


class PrivateNginx:
    """nginx in the foreground under tmpdir/nginx, proxying IMAP on 127.0.0.1:imap_port."""

    def __init__(self, tmpdir, auth_http, imap_port, pop3_port=None):
        self.prefix = os.path.join(os.path.abspath(tmpdir), "nginx")
        self.auth_http, self.imap_port, self.pop3_port = auth_http, imap_port, pop3_port
        self.proc = None

    def __enter__(self):
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"load_module {MODULE};\nworker_processes 1;\npid {self.prefix}/nginx.pid;\n"
                    f"error_log {self.prefix}/logs/error.log info;\nevents {{ worker_connections 64; }}\n"
                    + mail_block(self.auth_http, self.imap_port, self.pop3_port))
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.proc.stderr.read().decode(errors="replace") + self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("nginx did not greet on IMAP in 15 s" + self.log_tail())
            time.sleep(0.05)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines=30):
        path = os.path.join(self.prefix, "logs", "error.log")
        if not os.path.exists(path):
            return ""
        return "\n--- nginx error.log ---\n" + "".join(open(path).readlines()[-lines:])
