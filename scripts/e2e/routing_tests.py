"""End-to-end: aliases and redirections served to a real Postfix over Postern's socketmap.
postmap -q for each map; a private Postfix receiving over SMTP and delivering through LMTP into a
private Dovecot's maildirs (aliases, redirections with and without a copy, unknown recipients refused at
RCPT time, a change live on the next message without reloading Postfix); authenticated
submission with device passwords sending as a mailbox and its alias, refused as another.
Mixed into test_postern.Suite."""

import os
import smtplib
import subprocess

from dovecot import CONF_DIR, PrivateDovecot
from harness import PrivatePostfix, free_port, operator_lines


class RoutingPostfix(PrivatePostfix):
    """Postfix with conf/postfix-routing.cf pointed at posternd's socketmap, SMTP AUTH through
    its auth socket, and LMTP delivery into a private Dovecot (conf/dovecot-lmtp.conf)."""

    def __init__(self, tmpdir, auth_socket, socketmap, lmtp_socket, port):
        routing = {}
        for line in operator_lines("postfix-routing.cf").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = (part.strip() for part in line.split("=", 1))
                routing[key] = value.replace("/run/postern/socketmap.sock", socketmap).replace("private/dovecot-lmtp", lmtp_socket)
        routing["smtpd_tls_auth_only"] = "no"
        super().__init__(tmpdir, auth_socket, port, extra_main_cf=routing)

    def write_config(self):
        super().write_config()
        with open(os.path.join(self.config_dir, "master.cf"), "a") as f:
            f.write("lmtp      unix  -       -       n       -       -       lmtp\n")
        old = os.stat(os.path.join(self.config_dir, "main.cf")).st_mtime
        os.utime(os.path.join(self.config_dir, "master.cf"), (old, old))


def lmtp_dovecot(tmpdir, auth_socket, lmtp_socket):
    """A private Dovecot that takes LMTP on lmtp_socket, with conf/dovecot-lmtp.conf as shipped
    but for the socket path."""
    with open(os.path.join(CONF_DIR, "dovecot-lmtp.conf")) as f:
        lmtp = f.read()
    assert "/var/spool/postfix/private/dovecot-lmtp" in lmtp, "conf/dovecot-lmtp.conf changed: update routing_tests.py"
    return PrivateDovecot(tmpdir, auth_socket, free_port(), free_port(),
                          after_conf=lmtp.replace("/var/spool/postfix/private/dovecot-lmtp", lmtp_socket))


def delivered(dovecot, address):
    """The messages Dovecot delivered to address's maildir (new/), as text."""
    local, domain = address.split("@")
    new = os.path.join(dovecot.d, "mail", domain, local, "Maildir", "new")
    if not os.path.isdir(new):
        return []
    return [open(os.path.join(new, n), errors="replace").read() for n in sorted(os.listdir(new))]


def postmap(config_dir, socket, name, key):
    """postmap -q KEY socketmap:unix:SOCKET:NAME → the value, or None when not found."""
    r = subprocess.run(["postmap", "-c", config_dir, "-q", key, f"socketmap:unix:{socket}:{name}"], capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 1) and "fatal" not in r.stderr and "warning" not in r.stderr, f"postmap -q {key} {name}: {r.returncode} {r.stderr}"
    return r.stdout.strip() if r.returncode == 0 else None


class RoutingTests:
    def test_a_removed_mailbox_leaves_no_redirection_pointing_at_it(self):
        self.example()  # Example Ltd serving example.org
        sm = self.d.socketmap_socket
        for box in ("rm-a@example.org", "rm-b@example.org"):
            self.d.ok("mailbox", "add", box)
        self.d.ok("alias", "add", "rm-b@example.org", "rm-team")
        self.d.ok("redirect", "set", "rm-a@example.org", "rm-b@example.org", "out@elsewhere.test")
        self.d.ok("redirect", "set", "rm-b@example.org", "out@elsewhere.test", "--keep-copy")
        assert postmap(self.pf.config_dir, sm, "virtual", "rm-a@example.org") == "rm-b@example.org,out@elsewhere.test"
        # Without --yes: what would go, and nothing changes.
        rc, preview = self.d.cli("mailbox", "remove", "rm-b@example.org")
        assert rc == 1 and preview["aliases"] == ["rm-team@example.org"] and preview["redirectedBy"] == ["rm-a@example.org"], (rc, preview)
        assert postmap(self.pf.config_dir, sm, "mailboxes", "rm-b@example.org") is not None
        removed = self.d.ok("mailbox", "remove", "rm-b@example.org", "--yes")
        assert removed["redirectedBy"] == ["rm-a@example.org"] and removed["removed"]["address"] == "rm-b@example.org", removed
        assert postmap(self.pf.config_dir, sm, "virtual", "rm-a@example.org") == "out@elsewhere.test"
        assert postmap(self.pf.config_dir, sm, "virtual", "rm-team@example.org") is None
        assert postmap(self.pf.config_dir, sm, "mailboxes", "rm-b@example.org") is None
        assert self.d.ok("redirect", "show", "rm-a@example.org")["redirection"]["targets"] == ["out@elsewhere.test"]
        history = self.d.ok("history", "rm-a@example.org")["history"]
        assert history[0]["action"] == "redirection.set" and "rm-b@example.org was removed" in history[0]["detail"], history[0]
        self.d.ok("mailbox", "remove", "rm-a@example.org", "--yes")

    def test_aliases_and_redirections_reach_a_real_postfix_over_socketmap(self):
        from import_tests import wait_for
        self.example()  # Example Ltd serving example.org
        sm = self.d.socketmap_socket
        for box in ("ann@example.org", "ben@example.org", "cat@example.org"):
            self.d.ok("mailbox", "add", box)
        self.d.ok("alias", "add", "ann@example.org", "Sales")
        self.d.ok("redirect", "set", "ben@example.org", "cat@example.org", "out@elsewhere.test", "--keep-copy")

        # postmap -q for each map: hits, misses, case, an alias, a redirection with and without a copy.
        assert postmap(self.pf.config_dir, sm, "mailboxes", "ann@example.org") == "example.org/ann/"
        assert postmap(self.pf.config_dir, sm, "mailboxes", "ANN@Example.ORG") == "example.org/ann/"
        assert postmap(self.pf.config_dir, sm, "mailboxes", "ann+news@example.org") == "example.org/ann/"
        assert postmap(self.pf.config_dir, sm, "mailboxes", "nobody@example.org") is None
        assert postmap(self.pf.config_dir, sm, "mailboxes", "sales@example.org") is None, "an alias is not a mailbox"
        assert postmap(self.pf.config_dir, sm, "virtual", "sales@example.org") == "ann@example.org"
        assert postmap(self.pf.config_dir, sm, "virtual", "Sales@EXAMPLE.org") == "ann@example.org"
        assert postmap(self.pf.config_dir, sm, "virtual", "ann@example.org") is None
        assert postmap(self.pf.config_dir, sm, "virtual", "ben@example.org") == "ben@example.org,cat@example.org,out@elsewhere.test"
        assert postmap(self.pf.config_dir, sm, "senders", "sales@example.org") == "ann@example.org"
        assert postmap(self.pf.config_dir, sm, "senders", "ben@example.org") == "ben@example.org"
        assert postmap(self.pf.config_dir, sm, "senders", "mallory@example.org") is None
        self.d.ok("redirect", "set", "cat@example.org", "out@elsewhere.test")
        assert postmap(self.pf.config_dir, sm, "virtual", "cat@example.org") == "out@elsewhere.test", "without a copy"
        self.d.ok("redirect", "clear", "cat@example.org")
        assert postmap(self.pf.config_dir, sm, "virtual", "cat@example.org") is None

        # A loop is refused at write time, naming it; nothing reaches Postfix.
        self.d.ok("redirect", "set", "cat@example.org", "sales@example.org")
        loop = self.d.refused("redirection_loop", "redirect", "set", "ann@example.org", "ben@example.org")
        assert "ann@example.org → ben@example.org → cat@example.org → sales@example.org → ann@example.org" in loop, loop
        assert postmap(self.pf.config_dir, sm, "virtual", "ann@example.org") is None
        self.d.ok("redirect", "clear", "cat@example.org")

        lmtp = os.path.join(self.tmp, "routing-lmtp.sock")
        dv = lmtp_dovecot(os.path.join(self.tmp, "routing-dovecot"), self.d.auth_socket, lmtp)
        dv.start()
        pf = RoutingPostfix(os.path.join(self.tmp, "routing-postfix"), self.d.auth_socket, sm, lmtp, free_port())
        pf.start()
        try:
            def send(sender, recipients, subject, login=None):
                s = smtplib.SMTP("127.0.0.1", pf.port, timeout=15)
                try:
                    s.ehlo("client.example")
                    if login:
                        s.login(*login)
                    s.mail(sender)
                    codes = [s.rcpt(r)[0] for r in recipients]
                    if any(c == 250 for c in codes):
                        s.data(f"From: {sender}\r\nSubject: {subject}\r\n\r\n{subject}\r\n".encode())
                    return codes
                finally:
                    s.quit()

            def landed(address, subject):
                return wait_for(f"'{subject}' in {address}'s maildir",
                                lambda: any(f"Subject: {subject}" in m for m in delivered(dv, address)), 20)

            # Mail to an alias lands in its mailbox; a redirection reaches its targets, and the mailbox with a copy.
            assert send("someone@outside.test", ["sales@example.org"], "to the alias") == [250]
            landed("ann@example.org", "to the alias")
            assert send("someone@outside.test", ["ben@example.org"], "to ben, redirected") == [250]
            landed("ben@example.org", "to ben, redirected")
            landed("cat@example.org", "to ben, redirected")
            wait_for("the external target handed to its transport", lambda: "to=<out@elsewhere.test>" in open(pf.maillog).read(), 20)
            self.d.ok("redirect", "set", "ben@example.org", "cat@example.org")
            assert send("someone@outside.test", ["ben@example.org"], "no copy for ben") == [250]
            landed("cat@example.org", "no copy for ben")
            assert not any("no copy for ben" in m for m in delivered(dv, "ben@example.org")), "without a copy, ben keeps nothing"
            # Unknown recipients are refused at RCPT time.
            assert send("someone@outside.test", ["nobody@example.org"], "to nobody") == [550]
            # Postfix asks posternd which domains it serves (virtual_mailbox_domains): one it does not
            # serve is refused at RCPT, not queued; a mail service added serves its domain at once.
            assert postmap(pf.config_dir, sm, "domains", "Example.ORG") == "example.org"
            assert postmap(pf.config_dir, sm, "domains", "later.test") is None
            # (454 under Postfix's default smtpd_relay_restrictions, defer_unauth_destination; 554 with reject_…)
            # (another address than the one delivered to below: smtpd's resolver keeps its last answer)
            assert send("someone@outside.test", ["nobody@later.test"], "before the service")[0] in (454, 554)
            self.d.ok("service", "add", "later", "--organization", "Example Ltd", "--domain", "later.test")
            self.d.ok("mailbox", "add", "dee@later.test")
            assert postmap(pf.config_dir, sm, "domains", "later.test") == "later.test"
            assert send("someone@outside.test", ["dee@later.test"], "after the service") == [250]
            landed("dee@later.test", "after the service")
            log = open(pf.maillog).read()
            assert "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 454 4.7.1 <nobody@later.test>: Relay access denied" in log or \
                "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <nobody@later.test>: Relay access denied" in log, log[-2000:]
            # A change takes effect on the next message, without reloading Postfix.
            assert send("someone@outside.test", ["team@example.org"], "before the alias") == [550]
            self.d.ok("alias", "add", "cat@example.org", "team")
            assert send("someone@outside.test", ["team@example.org"], "after the alias") == [250]
            landed("cat@example.org", "after the alias")
            self.d.ok("alias", "remove", "cat@example.org", "team@example.org")
            assert send("someone@outside.test", ["team@example.org"], "after removal") == [550]

            # Submission with device passwords: ann sends as ann and as her alias, never as ben or ben's alias.
            self.d.ok("alias", "add", "ben@example.org", "bills")
            ann = self.add_device("ann@example.org", "Laptop")
            assert send("ann@example.org", ["out@elsewhere.test"], "as ann", login=("ann@example.org", ann)) == [250]
            assert send("sales@example.org", ["out@elsewhere.test"], "as sales", login=("ann@example.org", ann)) == [250]
            assert send("ben@example.org", ["out@elsewhere.test"], "as ben", login=("ann@example.org", ann)) == [553]
            assert send("bills@example.org", ["out@elsewhere.test"], "as bills", login=("ann@example.org", ann)) == [553]
            log = open(pf.maillog).read()
            assert "Sender address rejected: not owned by user ann@example.org" in log, log[-2000:]
            self.d.ok("mailbox", "remove", "dee@later.test", "--yes")
            self.d.ok("service", "remove", "later")
            assert postmap(pf.config_dir, sm, "domains", "later.test") is None, "a mail service removed serves its domain no more"
        finally:
            pf.stop()
            dv.stop()
