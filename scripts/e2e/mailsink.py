"""A private Postfix that delivers mail for corp.test into maildirs (virtual(8)), for the mail
posternd sends through `sendmail -C CONFIG_DIR`."""

import os
import pwd

from harness import PrivatePostfix, _MASTER_CF


class MaildirPostfix(PrivatePostfix):
    def __init__(self, tmpdir, smtp_port, users):
        self.vmail = os.path.join(os.path.abspath(tmpdir), "vmail")
        nobody = pwd.getpwnam("nobody")
        maps = ", ".join(f"{u}={u.split('@')[1]}/{u.split('@')[0]}/" for u in users)
        super().__init__(tmpdir, "/nonexistent", smtp_port, check_socket=False, extra_main_cf={
            "virtual_mailbox_domains": "corp.test",
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": "inline:{ " + maps + " }",
            "virtual_uid_maps": f"static:{nobody.pw_uid}",
            "virtual_gid_maps": f"static:{nobody.pw_gid}",
            "virtual_minimum_uid": "100",
            "virtual_transport": "virtual",
            "smtpd_sasl_auth_enable": "no",
        })
        self.nobody = nobody

    def write_config(self):
        super().write_config()
        os.makedirs(self.vmail, exist_ok=True)
        os.chown(self.vmail, self.nobody.pw_uid, self.nobody.pw_gid)
        with open(os.path.join(self.config_dir, "master.cf"), "a") as f:
            f.write("pickup    unix  n       -       n       60      1       pickup\n"
                    "virtual   unix  -       n       n       -       -       virtual\n")
        old = os.stat(os.path.join(self.config_dir, "main.cf")).st_mtime
        os.utime(os.path.join(self.config_dir, "master.cf"), (old, old))

    def sendmail_command(self):
        return f"/usr/sbin/sendmail -C {self.config_dir}"

    def delivered(self, user):
        """The messages delivered to user's maildir (new/), as text."""
        local, domain = user.split("@")
        new = os.path.join(self.vmail, domain, local, "new")
        if not os.path.isdir(new):
            return []
        return [open(os.path.join(new, n), errors="replace").read() for n in sorted(os.listdir(new))]
