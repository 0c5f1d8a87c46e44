"""End-to-end: a mailbox's rules, spam filter, blocked and approved senders and automatic reply,
written by posternd as a Sieve script and run by a real Dovecot (Pigeonhole) at LMTP delivery.
Each message is delivered with Python's smtplib.LMTP, and where it lands (folder, flags) is read
off the maildir; the responder's replies go through a sendmail stand-in that keeps them.
Mixed into test_postern.Suite."""

import glob
import json
import os
import re
import smtplib
import subprocess
import time
from email.header import Header

from dovecot import CONF_DIR, PrivateDovecot
from harness import free_port


def sieve_dovecot(tmpdir, auth_socket, lmtp_socket, sendmail):
    """A private Dovecot taking LMTP on lmtp_socket with conf/dovecot-lmtp.conf and
    conf/dovecot-sieve.conf as shipped (but for the socket path); replies go to `sendmail`."""
    lmtp = open(os.path.join(CONF_DIR, "dovecot-lmtp.conf")).read().replace("/var/spool/postfix/private/dovecot-lmtp", lmtp_socket)
    sieve = open(os.path.join(CONF_DIR, "dovecot-sieve.conf")).read()
    return PrivateDovecot(tmpdir, auth_socket, free_port(), free_port(),
                          after_conf=lmtp + "\n" + sieve + f"\nsendmail_path = {sendmail}\n")


class SieveTests:
    def test_rules_spam_senders_and_the_responder_run_in_real_dovecot_delivery(self):
        from import_tests import wait_for
        self.example()  # Example Ltd serving example.org
        root = os.path.join(self.tmp, "sieve-dovecot")
        lmtp = os.path.join(self.tmp, "sieve-lmtp.sock")
        replies = os.path.join(self.tmp, "replies")
        os.makedirs(replies, exist_ok=True)
        os.chmod(replies, 0o777)
        sendmail = os.path.join(self.tmp, "sendmail-standin")
        with open(sendmail, "w") as f:
            f.write(f'#!/bin/sh\ncat > "{replies}/reply-$$-$(date +%s%N)"\n')
        os.chmod(sendmail, 0o755)
        dv = sieve_dovecot(root, self.d.auth_socket, lmtp, sendmail)
        dv.start()
        mail = os.path.join(root, "mail")
        from harness import free_port as port
        web_port = port()
        base = f"http://127.0.0.1:{web_port}"
        settings = dict(POSTERN_WEB_LISTEN=f"127.0.0.1:{web_port}", POSTERN_WEB_DIRECTORY=os.path.join(os.path.dirname(CONF_DIR), "web"),
                        POSTERN_SIEVE_SCRIPT_PATH=mail + "/%d/%n/sieve/postern.sieve", POSTERN_SIEVE_ACTIVE_PATH=mail + "/%d/%n/.dovecot.sieve",
                        POSTERN_SIEVE_OWNER="nobody", POSTERN_FOLDERS_DOVEADM=f"/usr/bin/doveadm -c {dv.config_path}")
        try:
            with self.restarted_with(settings):
                self.d.ok("mailbox", "add", "sam@example.org")
                box = os.path.join(mail, "example.org", "sam", "Maildir")

                def deliver(sender, subject, headers=None, to="sam@example.org"):
                    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
                    message = (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{time.time_ns()}@test>\r\n{extra}\r\n"
                               f"body of {subject}\r\n")
                    with smtplib.LMTP(lmtp) as client:
                        client.sendmail(sender, ["sam@example.org"], message.encode())

                def where(marker):
                    """(folder, flags) of the message whose body holds marker; None if nowhere."""
                    for path in (os.path.join(d, n) for d, _, names in os.walk(box) for n in names):  # glob skips .Folders
                        if "/new/" in path or "/cur/" in path:
                            if f"body of {marker}".encode() in open(path, "rb").read():
                                folder = os.path.basename(os.path.dirname(os.path.dirname(path)))
                                return ("INBOX" if folder == "Maildir" else folder.lstrip(".")), path.rsplit(":2,", 1)[1] if ":2," in path else ""
                    return None

                def lands(marker, expected):
                    got = wait_for(f"'{marker}' delivered", lambda: where(marker), 15)
                    assert got == expected, f"{marker}: expected {expected}, got {got}"

                # A rule files by subject into a folder, marks it read, and stops (the next rule does not flag it).
                rules = {"rules": [
                    {"name": "Invoices", "conditions": [{"field": "subject", "test": "contains", "value": "invoice"}],
                     "actions": [{"kind": "fileinto", "folder": "Finance"}, {"kind": "markread"}, {"kind": "stop"}]},
                    {"name": "From the boss", "match": "any", "conditions": [{"field": "from", "test": "is", "value": "boss@partner.test"}],
                     "actions": [{"kind": "flag"}]},
                    {"name": "Quotes", "conditions": [{"field": "subject", "test": "contains", "value": 'a "quoted" \\ word'}],
                     "actions": [{"kind": "fileinto", "folder": "Odd"}]},
                    {"name": "Café", "conditions": [{"field": "subject", "test": "contains", "value": "Café ☕\nsecond line"}],
                     "actions": [{"kind": "fileinto", "folder": "Odd"}]},
                    {"name": "Unicode", "conditions": [{"field": "subject", "test": "contains", "value": "Grüße"}],
                     "actions": [{"kind": "fileinto", "folder": "Unicode"}]},
                ]}
                path = os.path.join(self.tmp, "rules.json")
                with open(path, "w") as f:
                    json.dump(rules, f)
                self.d.ok("rules", "set", "sam@example.org", path)
                script = open(os.path.join(mail, "example.org", "sam", "sieve", "postern.sieve")).read()
                assert os.readlink(os.path.join(mail, "example.org", "sam", ".dovecot.sieve")).endswith("sieve/postern.sieve")
                deliver("boss@partner.test", "Invoice 42 from the boss")
                lands("Invoice 42 from the boss", ("Finance", "S"))
                deliver("boss@partner.test", "Lunch?")
                lands("Lunch?", ("INBOX", "F"))
                deliver("x@outside.test", 'Re: a "quoted" \\ word here')
                lands('Re: a "quoted" \\ word here', ("Odd", ""))
                deliver("x@outside.test", Header("Grüße aus Köln", "utf-8").encode())
                got = wait_for("the encoded subject delivered", lambda: glob.glob(os.path.join(box, ".Unicode", "new", "*")), 15)
                assert got, "an RFC 2047 subject matches a non-ASCII rule"

                # Spam at or over the threshold goes to Junk, unless its sender is approved; a negative score is not spam.
                self.d.ok("spam", "set", "sam@example.org", "--on", "--threshold", "5")
                self.d.ok("senders", "approve", "sam@example.org", "friend@partner.test")
                deliver("x@outside.test", "cheap pills", {"X-Spam-Score": "7.5"})
                lands("cheap pills", ("Junk", ""))
                deliver("x@outside.test", "fine mail", {"X-Spam-Score": "2.1"})
                lands("fine mail", ("INBOX", ""))
                deliver("x@outside.test", "very fine mail", {"X-Spam-Score": "-3.0"})
                lands("very fine mail", ("INBOX", ""))
                deliver("friend@partner.test", "looks spammy but approved", {"X-Spam-Score": "9"})
                lands("looks spammy but approved", ("INBOX", ""))

                # A blocked sender's mail is filed into Junk, or discarded, as chosen.
                self.d.ok("senders", "block", "sam@example.org", "pest.test")
                deliver("a@pest.test", "from a pest")
                lands("from a pest", ("Junk", ""))
                self.d.ok("senders", "action", "sam@example.org", "discard")
                deliver("b@pest.test", "from another pest")
                deliver("x@outside.test", "after the pest")
                lands("after the pest", ("INBOX", ""))
                assert where("from another pest") is None, "discarded"

                # The responder answers once per sender within its dates, and not outside them.
                today = time.strftime("%Y-%m-%d", time.gmtime())
                self.d.ok("responder", "set", "sam@example.org", "--on", "--subject", "Away", "--text", "I am away; back on Monday.",
                          "--start", today, "--end", today)
                deliver("client@outside.test", "first question")
                deliver("client@outside.test", "second question")
                deliver("other@outside.test", "another question")
                lands("another question", ("INBOX", ""))
                sent = wait_for("two replies", lambda: (lambda r: r if len(r) >= 2 else None)(sorted(glob.glob(os.path.join(replies, "reply-*")))), 15)
                texts = [open(p, errors="replace").read() for p in sent]
                assert sum("To: <client@outside.test>" in t or "To: client@outside.test" in t for t in texts) == 1, texts
                assert all("Subject: Away" in t and "back on Monday" in t for t in texts), texts
                tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
                self.d.ok("responder", "set", "sam@example.org", "--start", tomorrow, "--end", tomorrow)
                deliver("new@outside.test", "question before the window")
                lands("question before the window", ("INBOX", ""))
                assert len(glob.glob(os.path.join(replies, "reply-*"))) == 2, "no reply outside its dates"

                # Folders through doveadm: list, create, rename (the rule follows), and no deleting a folder a rule files into.
                listed = self.d.ok("folder", "list", "sam@example.org")["folders"]
                assert {"INBOX", "Finance", "Junk", "Odd"} <= set(listed), listed
                self.d.ok("folder", "create", "sam@example.org", "Archive")
                assert "Archive" in self.d.ok("folder", "list", "sam@example.org")["folders"]
                message = self.d.refused("folder_in_use", "folder", "delete", "sam@example.org", "Finance")
                assert "Invoices" in message, message
                self.d.ok("folder", "rename", "sam@example.org", "Finance", "Money")
                assert [a.get("folder") for a in self.d.ok("rules", "show", "sam@example.org")["rules"][0]["actions"]][0] == "Money"
                deliver("x@outside.test", "invoice after the rename")
                lands("invoice after the rename", ("Money", "S"))
                self.d.ok("folder", "delete", "sam@example.org", "Archive")
                assert "Archive" not in self.d.ok("folder", "list", "sam@example.org")["folders"]
                self.d.refused("doveadm_refused", "folder", "delete", "sam@example.org", "Nowhere")

                # A user's signature and reply-to, for webmail; the reply-to must be the mailbox or an alias.
                with open(os.path.join(self.tmp, "sig.password"), "w") as f:
                    f.write("sig-account-password\n")
                self.d.ok("user", "add", "sig@corp.test", "--password-file", os.path.join(self.tmp, "sig.password"))
                self.d.ok("member", "set", "Example Ltd", "sig@corp.test", "--role", "collaborator")
                self.d.ok("access", "grant", "sam@example.org", "sig@corp.test", "--permissions", "signatures")
                self.d.ok("alias", "add", "sam@example.org", "samuel")
                saved = self.d.ok("signature", "set", "sam@example.org", "--text=-- \nSam", "--reply-to", "Samuel@example.org", "--as", "sig@corp.test")
                assert saved["replyTo"] == "Samuel@example.org" and saved["login"] == "sig@corp.test", saved
                self.d.refused("reply_to_not_own", "signature", "set", "sam@example.org", "--reply-to", "alice@example.org", "--as", "sig@corp.test")
                assert self.d.ok("signature", "show", "sam@example.org", "--as", "sig@corp.test")["text"] == "-- \nSam"
                self.d.refused("forbidden", "rules", "show", "sam@example.org", "--as", "sig@corp.test")

                # The same settings through the web manager, in a real Chromium, reaching real delivery.
                self.d.ok("access", "set", "sam@example.org", "sig@corp.test", "--permissions",
                          "rules,filters,responders,security,folders,signatures")
                self.secrets.append("sig-account-password")
                from selenium.webdriver.common.by import By
                driver = self.browser()
                try:
                    driver.get(base + "/signin")
                    driver.find_element(By.NAME, "login").send_keys("sig@corp.test")
                    driver.find_element(By.NAME, "password").send_keys("sig-account-password")
                    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
                    self.wait_for_text(driver, "Your mailboxes")
                    for label in ("Rules", "Spam filter", "Auto reply", "Senders", "Folders", "Signature"):
                        assert driver.find_elements(By.LINK_TEXT, label), f"no {label} button"
                    assert not driver.find_elements(By.LINK_TEXT, "Devices"), "no devices permission, no Devices button"
                    driver.find_element(By.LINK_TEXT, "Rules").click()
                    self.wait_for_text(driver, "Rules of sam@example.org")
                    driver.find_element(By.NAME, "name").send_keys("Web rule")
                    driver.find_element(By.NAME, "value").send_keys("from the web page")
                    from selenium.webdriver.support.ui import Select
                    Select(driver.find_element(By.NAME, "field")).select_by_value("subject")
                    Select(driver.find_element(By.NAME, "action")).select_by_value("fileinto")
                    driver.find_element(By.NAME, "target").send_keys("WebFolder")
                    driver.find_element(By.CSS_SELECTOR, "form button.primary").click()
                    self.wait_for_text(driver, "Rule “Web rule” added.")
                    self.shoot(driver, "21-rules")
                    deliver("x@outside.test", "sent from the web page test")
                    lands("sent from the web page test", ("WebFolder", ""))
                    row = driver.find_element(By.XPATH, "//tr[td/strong[text()='Web rule']]")
                    row.find_element(By.CSS_SELECTOR, "button[value=toggle]").click()
                    self.wait_for_text(driver, "Rules saved.")
                    deliver("x@outside.test", "again from the web page test")
                    lands("again from the web page test", ("INBOX", ""))
                    driver.get(base + "/mailboxes/sam@example.org/spam")
                    self.wait_for_text(driver, "Spam filter of sam@example.org")
                    threshold = driver.find_element(By.NAME, "threshold")
                    threshold.clear()
                    threshold.send_keys("8")
                    driver.find_element(By.CSS_SELECTOR, "button.primary").click()
                    self.wait_for_text(driver, "a score of 8 or more goes to Junk")
                    self.shoot(driver, "22-spam-filter")
                    deliver("x@outside.test", "score seven after the web change", {"X-Spam-Score": "7"})
                    lands("score seven after the web change", ("INBOX", ""))
                    driver.get(base + "/mailboxes/sam@example.org/senders")
                    self.wait_for_text(driver, "Blocked and approved senders")
                    assert "pest.test" in driver.find_element(By.NAME, "blocked").get_attribute("value")
                    self.shoot(driver, "23-senders")
                    driver.get(base + "/mailboxes/sam@example.org/responder")
                    self.wait_for_text(driver, "Automatic reply of sam@example.org")
                    self.shoot(driver, "24-responder")
                    driver.get(base + "/mailboxes/sam@example.org/folders")
                    self.wait_for_text(driver, "Folders of sam@example.org")
                    row = driver.find_element(By.XPATH, "//tr[td/strong[text()='Money']]")
                    row.find_element(By.CSS_SELECTOR, "button[value=delete]").click()
                    self.wait_for_text(driver, "and every message in it?")
                    driver.find_element(By.CSS_SELECTOR, "section.warning button.danger").click()
                    self.wait_for_text(driver, "rule 'Invoices' files into Money")
                    self.shoot(driver, "25-folders")
                    driver.get(base + "/mailboxes/sam@example.org/signature")
                    self.wait_for_text(driver, "Your signature for sam@example.org")
                    Select(driver.find_element(By.NAME, "replyTo")).select_by_value("samuel@example.org")
                    driver.find_element(By.CSS_SELECTOR, "button.primary").click()
                    self.wait_for_text(driver, "replies go to samuel@example.org")
                    self.shoot(driver, "26-signature")
                finally:
                    driver.quit()

                # An invalid script never replaces a valid one.
                before = open(os.path.join(mail, "example.org", "sam", "sieve", "postern.sieve")).read()
                assert "Invoices" in script and "Invoices" in before
            # A script that does not compile: the change is stored, the old script stays in place
            # (Dovecot goes on filtering with it), and it is said: history, /metrics, /v1/health.
            with self.restarted_with(dict(settings, POSTERN_SIEVE_SIEVEC="/bin/false", POSTERN_OUTBOX_DEGRADED_AFTER_SECONDS="0")):
                self.d.ok("spam", "set", "sam@example.org", "--threshold", "20")
                assert self.d.ok("spam", "show", "sam@example.org")["spam"]["threshold"] == 20, "the change is stored"
                assert open(os.path.join(mail, "example.org", "sam", "sieve", "postern.sieve")).read() == before
                said = self.d.ok("history", "sam@example.org", "--kind", "script", "--limit", "1")["history"][0]
                assert said["action"] == "script.not_installed" and said["detail"].startswith("script not installed: "), said
                deliver("x@outside.test", "still filtered", {"X-Spam-Score": "8.5"})
                lands("still filtered", ("Junk", ""))
                def control(path):
                    return subprocess.run(["curl", "-s", "--unix-socket", self.d.control_socket, "http://localhost" + path],
                                          capture_output=True, text=True, timeout=30).stdout
                # The outbox worker counts it (at most every ten seconds): /metrics and /v1/health then say so.
                wait_for("the failed task in /metrics", lambda: re.search(r"^postern_outbox_failed 1(\.0)?$", control("/metrics"), re.M), 15)
                assert re.search(r"^postern_outbox_pending 1(\.0)?$", control("/metrics"), re.M)
                health = wait_for("a degraded /v1/health", lambda: (lambda h: h if h["status"] == "degraded" else None)(json.loads(control("/v1/health"))), 15)
                assert health["outbox"]["failed"] == 1 and "history" in health["problem"], health
            # With the real sievec again, the outbox's retry installs the stored change at the start.
            with self.restarted_with(settings):
                script_path = os.path.join(mail, "example.org", "sam", "sieve", "postern.sieve")
                wait_for("the retried script", lambda: '"X-Spam-Score" "20"' in open(script_path).read(), 15)
                installed = self.d.ok("history", "sam@example.org", "--kind", "script", "--limit", "1")["history"][0]
                assert installed["action"] == "script.installed", installed
                wait_for("/v1/health ok again", lambda: json.loads(subprocess.run(["curl", "-s", "--unix-socket", self.d.control_socket,
                         "http://localhost/v1/health"], capture_output=True, text=True, timeout=30).stdout)["status"] == "ok", 15)
                deliver("x@outside.test", "under the new threshold", {"X-Spam-Score": "8.5"})
                lands("under the new threshold", ("INBOX", ""))
        finally:
            dv.stop()
