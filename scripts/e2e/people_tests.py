"""End-to-end: who is asking on the control socket. A second uid (a system user made for the test)
mapped in control.users gets that user's rights, an unmapped uid gets 401, and the operator can act
as a user with --as. Mixed into test_postern.Suite; runs on a posternd of its own."""

import json
import os
import pwd
import subprocess
import urllib.error
import urllib.request

COLE, STRANGER = "postern-e2e-cole", "postern-e2e-stranger"


def system_user(name):
    """The uid of a system user, created if missing (no home, no shell)."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name).pw_uid


class PeopleTests:
    def test_a_role_change_mails_the_member_through_a_real_postfix(self):
        """posternd's notifier runs Postfix's sendmail; Postfix's virtual(8) delivers to a maildir.
        While the mail cannot be sent (sendmail points nowhere), the change still succeeds."""
        from harness import free_port
        from mailsink import MaildirPostfix
        from import_tests import wait_for
        sink = MaildirPostfix(os.path.join(self.tmp, "mailsink"), free_port(), ["cole@corp.test", "dora@corp.test"])
        sink.start()
        d = None
        try:
            d = self.import_daemon("mailer", POSTERN_NOTIFY_SENDMAIL=sink.sendmail_command(), POSTERN_NOTIFY_FROM="postern@mail.example")
            d.ok("member", "set", "Import Ltd", "cole@corp.test", "--role", "collaborator", "--name", "Cole")
            changed = d.ok("member", "set", "Import Ltd", "cole@corp.test", "--role", "administrator")
            assert changed["previous"] == "collaborator", changed
            mails = wait_for("two mails in cole's maildir", lambda: (lambda m: m if len(m) >= 2 else None)(sink.delivered("cole@corp.test")), 30)
            change = [m for m in mails if "before: collaborator" in m]
            assert change and "now:    administrator" in change[0] and "by:     the operator" in change[0], mails
            assert "Subject: Your role in Import Ltd is now administrator" in change[0] and "From: postern@mail.example" in change[0]
            d.stop()
            # The same through an SMTP relay (Postfix's smtpd on loopback) instead of sendmail.
            d = self.import_daemon("mailer-smtp", POSTERN_NOTIFY_SMTP=f"127.0.0.1:{sink.port}", POSTERN_NOTIFY_FROM="postern@mail.example")
            d.ok("member", "set", "Import Ltd", "dora@corp.test", "--role", "external")
            relayed = wait_for("a mail in dora's maildir", lambda: sink.delivered("dora@corp.test"), 30)
            assert "You are now external of Import Ltd" in relayed[0] and "role:   external" in relayed[0], relayed
        finally:
            if d:
                d.stop()
            sink.stop()
        # Mail that cannot go is logged and retried; the change is made all the same.
        d = self.import_daemon("nomail", POSTERN_NOTIFY_SENDMAIL="/nonexistent/sendmail")
        try:
            d.ok("member", "set", "Import Ltd", "dora@corp.test", "--role", "external")
            wait_for("the retry in posternd's log", lambda: "mail not sent; will retry" in open(d.log_path).read(), 30)
            assert d.ok("member", "list", "Import Ltd")["members"][0]["login"] == "dora@corp.test"
        finally:
            d.stop()

    def test_the_cli_pages_lists_and_follows_next_with_all(self):
        """`mailbox list` shows a page of --limit and says how to go on; --after goes on; --all
        follows next to the end, one JSON object; an administrator (--as) sees the same pages."""
        # An organization of its own: the other tests' pages stay as they were.
        self.d.ok("org", "add", "Cli Ltd")
        self.d.ok("service", "add", "cli", "--organization", "Cli Ltd", "--domain", "cli.test")
        path = os.path.join(self.tmp, "paged.passwd")
        with open(path, "w") as f:
            f.writelines(f"page{n:03d}@cli.test:{{PLAIN}}generic-{n}\n" for n in range(130))
        self.d.cli("import", "passwd-file", path)
        self.d.ok("member", "set", "Cli Ltd", "ada@corp.test", "--role", "administrator")
        first = self.d.ok("mailbox", "list", "--limit", "50")
        assert len(first["mailboxes"]) == 50 and first["next"] == first["mailboxes"][-1]["address"], first.get("next")
        second = self.d.ok("mailbox", "list", "--limit", "50", "--after", first["next"])
        assert second["mailboxes"][0]["address"] > first["next"]
        every = self.d.ok("mailbox", "list", "--limit", "40", "--all")
        addresses = [m["address"] for m in every["mailboxes"]]
        assert len(set(addresses)) == len(addresses) and "next" not in every, "each mailbox once, and no next at the end"
        assert {f"page{n:03d}@cli.test" for n in range(130)} <= set(addresses) and len(addresses) >= 130, len(addresses)
        assert addresses == sorted(addresses)
        assert [m["address"] for m in first["mailboxes"]] + [m["address"] for m in second["mailboxes"]] == addresses[:100]
        as_admin = self.d.ok("mailbox", "list", "--all", "--as", "ada@corp.test")
        assert [m["address"] for m in as_admin["mailboxes"]] == [f"page{n:03d}@cli.test" for n in range(130)]
        found = self.d.ok("mailbox", "list", "--search", "PAGE12", "--domain", "cli.test")
        assert [m["address"] for m in found["mailboxes"]] == [f"page{n:03d}@cli.test" for n in range(120, 130)]
        text = subprocess.run([os.path.join(self.d.bin_dir, "postern"), "mailbox", "list", "--limit", "3", "--socket", self.d.control_socket],
                              capture_output=True, text=True, timeout=60, env=self.d.env)
        assert text.returncode == 0 and len(text.stdout.splitlines()) == 4, text.stdout
        assert text.stderr.strip() == f"more: --after {addresses[2]} (or --all)", text.stderr

    def test_the_control_socket_knows_its_caller_by_uid(self):
        cole_uid, _ = system_user(COLE), system_user(STRANGER)
        from harness import free_port
        tcp = f"127.0.0.1:{free_port()}"
        d = self.import_daemon("people", POSTERN_CONTROL_SOCKET_MODE="0666", POSTERN_CONTROL_LISTEN=tcp,
                                      POSTERN_CONTROL_USERS=f"{cole_uid}=cole@corp.test")
        try:
            def as_user(user, *args):
                cmd = [os.path.join(d.bin_dir, "postern"), *args, "--json", "--socket", d.control_socket]
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=d.env, user=user, cwd="/")
                return r.returncode, json.loads(r.stdout)

            for address in ("alice@example.org", "bob@example.org"):
                d.ok("mailbox", "add", address)
            secret_file = os.path.join(d.tmp, "cole.password")
            with open(secret_file, "w") as f:
                f.write("a long account password\n")
            d.ok("user", "add", "cole@corp.test", "--name", "Cole", "--password-file", secret_file)
            d.ok("member", "set", "Import Ltd", "cole@corp.test", "--role", "collaborator")
            granted = d.ok("access", "grant", "alice@example.org", "cole@corp.test", "--permissions", "devices")
            assert granted["access"]["permissions"] == ["devices"], granted

            rc, added = as_user(COLE, "device", "add", "alice@example.org", "--name", "Phone")
            assert rc == 0 and len(added["password"]) >= 20, added
            rc, listed = as_user(COLE, "mailbox", "list")
            assert rc == 0 and [m["address"] for m in listed["mailboxes"]] == ["alice@example.org"], listed
            for args, code in ((("device", "list", "bob@example.org"), "mailbox_not_found"),
                               (("history", "alice@example.org"), "forbidden"),
                               (("org", "add", "Cole's own"), "forbidden"),
                               (("device", "list", "alice@example.org", "--as", "cole@corp.test"), "forbidden")):
                rc, answer = as_user(COLE, *args)
                assert rc != 0 and answer.get("error", {}).get("code") == code, (args, answer)

            rc, answer = as_user(STRANGER, "mailbox", "list")
            assert rc != 0 and answer["error"]["code"] == "unknown_caller", answer
            assert str(pwd.getpwnam(STRANGER).pw_uid) in answer["error"]["message"]

            rc, seen = d.cli("device", "list", "alice@example.org", "--as", "cole@corp.test")
            assert rc == 0 and [x["name"] for x in seen["devices"]] == ["Phone"], seen
            d.refused("mailbox_not_found", "device", "list", "bob@example.org", "--as", "cole@corp.test")
            # The README's form: the shared options before the subcommand, as well as after it.
            postern = os.path.join(d.bin_dir, "postern")
            for before in (["--as", "cole@corp.test"], ["--as=cole@corp.test", "--json", "--socket", d.control_socket]):
                r = subprocess.run([postern, *before, "mailbox", "list", "--json", "--socket", d.control_socket], capture_output=True,
                                   text=True, timeout=30, env=d.env)
                assert r.returncode == 0 and [m["address"] for m in json.loads(r.stdout)["mailboxes"]] == ["alice@example.org"], (before, r)
            # A reader that went away (`postern … --json | head`): a quiet end, status 0, no crash.
            read_end, write_end = os.pipe()
            os.close(read_end)
            r = subprocess.run([postern, "--json", "--socket", d.control_socket, "device", "list", "alice@example.org"], stdout=write_end,
                               stderr=subprocess.PIPE, text=True, timeout=30, env=d.env)
            os.close(write_end)
            assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
            history = d.ok("history", "alice@example.org")["history"]
            actors = {h["action"]: h["actor"] for h in history}
            assert actors["device.add"] == f"cole@corp.test (uid {cole_uid})", actors
            assert actors["access.grant"].startswith("operator (uid 0)"), actors

            # The TCP listener: API tokens and sessions only.
            def http(method, path, token=None, body=None):
                request = urllib.request.Request(f"http://{tcp}{path}", method=method,
                                                 data=json.dumps(body).encode() if body is not None else None)
                if token:
                    request.add_header("Authorization", f"Bearer {token}")
                if body is not None:
                    request.add_header("Content-Type", "application/json")
                try:
                    with urllib.request.urlopen(request, timeout=10) as r:
                        return r.status, json.loads(r.read() or b"{}")
                except urllib.error.HTTPError as e:
                    return e.code, json.loads(e.read() or b"{}")

            made = d.ok("token", "create", "--name", "ci script", "--days", "7", "--user", "cole@corp.test")
            secret = made["secret"]
            assert secret.startswith("pt_") and len(secret) == 46, made
            status, devices = http("GET", "/v1/mailboxes/alice@example.org/devices", secret)
            assert status == 200 and [x["name"] for x in devices["devices"]] == ["Phone"], (status, devices)
            assert http("GET", "/v1/mailboxes/bob@example.org/devices", secret)[0] == 404
            assert http("GET", "/v1/mailboxes/alice@example.org/devices")[0] == 401, "no token, no answer"
            assert http("GET", "/v1/mailboxes/alice@example.org/devices", "pt_" + "x" * 43)[0] == 401
            listed = d.ok("token", "list", "--user", "cole@corp.test")["tokens"]
            assert listed[0]["lastIP"] == "127.0.0.1" and listed[0]["lastUsedAt"], listed
            assert secret not in open(d.log_path).read() and secret not in json.dumps(d.ok("history", "alice@example.org"))
            status, session = http("POST", "/v1/session", body={"login": "cole@corp.test", "password": "a long account password"})
            assert status == 201 and session["secret"].startswith("ps_"), (status, session)
            assert http("GET", "/v1/mailboxes", session["secret"])[0] == 200
            assert http("POST", "/v1/session", body={"login": "cole@corp.test", "password": "wrong"})[0] == 401
            assert http("DELETE", "/v1/session", session["secret"])[0] == 200, "sign out"
            assert http("GET", "/v1/mailboxes", session["secret"])[0] == 401, "a closed session fails at once"
            d.ok("token", "revoke", str(made["token"]["id"]))
            assert http("GET", "/v1/mailboxes/alice@example.org/devices", secret)[0] == 401, "a revoked token fails at once"
        finally:
            d.stop()
