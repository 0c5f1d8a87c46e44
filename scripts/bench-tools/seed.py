"""Bulk-loads N mailboxes with one device password each straight into posternd's SQLite file
(created and migrated by posternd itself beforehand), using posternd's server key for the
digests, exactly as the control API would store them. Writes the load generator's users file
("login password" lines) and a Dovecot passwd-file with the same passwords under {SHA256}.

    seed.py DATABASE SERVER_KEY N USERS_OUT PASSWD_OUT
"""
import base64
import hashlib
import hmac
import secrets
import sqlite3
import sys
import time

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def password():
    raw = "".join(secrets.choice(ALPHABET) for _ in range(24))
    return "-".join(raw[i:i + 6] for i in range(0, 24, 6))


def main(db_path, key_path, n, users_out, passwd_out):
    key = bytes.fromhex(open(key_path).read().strip())
    db = sqlite3.connect(db_path)
    service = db.execute("SELECT id FROM mailService WHERE name = 'bench'").fetchone()[0]
    now = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())
    started = time.monotonic()
    with open(users_out, "w") as users, open(passwd_out, "w") as passwd:
        batch = []
        for i in range(n):
            address = f"user{i}@bench.example"
            secret = password()
            canonical = secret.replace("-", "").encode()
            batch.append((address, hmac.new(key, canonical, hashlib.sha256).digest()))
            users.write(f"{address} {secret}\n")
            passwd.write(f"{address}:{{SHA256}}{base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()}\n")
            if len(batch) == 10000 or i == n - 1:
                with db:
                    for address, digest in batch:
                        cur = db.execute("INSERT INTO mailbox (mailServiceId, address, createdAt) VALUES (?, ?, ?)", (service, address, now))
                        db.execute("INSERT INTO device (mailboxId, name, kind, digest, createdAt) VALUES (?, 'phone', 'device', ?, ?)",
                                   (cur.lastrowid, digest, now))
                batch = []
    print(f"seeded {n} mailboxes with one device password each in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
