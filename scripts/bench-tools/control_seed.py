"""Bulk-loads the control benchmark's directory straight into posternd's SQLite file (created and
migrated by posternd itself beforehand), as the control API would store it, in a few seconds a
hundred thousand rows:

    N mailboxes with 2 device passwords each; N/20 users;
    one organization of N/10 mailboxes ("Big", service "big", domain big.test) and N/100
    organizations of 90 mailboxes each (org00000…, services s00000…, domains d00000.test);
    each small organization has 5 members (one administrator, collaborators, externals);
    the big one has 8 administrators among the clients and 64 other members.

Writes the load generator's plan (JSON): 64 client users, each an administrator (every eighth
of the big organization, the others of one small organization each), with the mailboxes they
work on, a cursor into their mailbox list, and members they may give access to.

    control_seed.py DATABASE N PLAN_OUT
"""
import json
import os
import sqlite3
import sys
import time

CLIENTS = 64


def main(db_path, n, plan_out):
    started = time.monotonic()
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous = OFF")
    now = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())
    big = n // 10
    small_orgs = max(1, (n - big) // 90)
    orgs, services, domains, mailboxes, devices, users, members = [], [], [], [], [], [], []
    orgs.append((1, "Big", now))
    services.append((1, 1, "big", now))
    domains.append(("big.test", 1))
    for i in range(small_orgs):
        orgs.append((i + 2, f"org{i:05d}", now))
        services.append((i + 2, i + 2, f"s{i:05d}", now))
        domains.append((f"d{i:05d}.test", i + 2))
    box_id = 0
    def add_box(service, address):
        nonlocal box_id
        box_id += 1
        mailboxes.append((box_id, service, address, now))
        for d in range(2):
            devices.append((box_id * 2 - 1 + d, box_id, "phone" if d == 0 else "laptop", os.urandom(32), now))
        return address
    big_boxes = [add_box(1, f"m{j:06d}@big.test") for j in range(big)]
    small_boxes = [[add_box(i + 2, f"m{j:02d}@d{i:05d}.test") for j in range(90)] for i in range(small_orgs)]

    user_id = 0
    def add_user(login, org, role):
        nonlocal user_id
        user_id += 1
        users.append((user_id, login, login.split("@")[0], now))
        members.append((user_id, org, role, now))
        return login
    plan = []
    for c in range(CLIENTS):
        login = f"client{c:02d}@bench.test"
        if c % 8 == 0:
            add_user(login, 1, "administrator")
            share = big // 8
            lo = (c // 8) * share
            boxes = big_boxes[lo:lo + min(share, 400)]
            plan.append({"login": login, "organization": "Big", "mailboxes": boxes, "big": True, "cursor": big_boxes[big // 2]})
        else:
            org = c % small_orgs
            add_user(login, org + 2, "administrator")
            plan.append({"login": login, "organization": f"org{org:05d}", "mailboxes": small_boxes[org], "big": False,
                         "cursor": small_boxes[org][45]})
    # Members each client may give access to (first grants: no re-confirmation asked).
    for c, client in enumerate(plan):
        org = 1 if client["big"] else (c % small_orgs) + 2
        client["members"] = [add_user(f"member{c:02d}x{k}@bench.test", org, "collaborator") for k in range(4)]
    # The other users: 5 per small organization, then the rest external members of the big one.
    roles = ["administrator", "collaborator", "collaborator", "external", "external"]
    total_users = max(n // 20, user_id + 1)
    k = 0
    while user_id < total_users:
        org = (k // 5) % small_orgs + 2 if k < small_orgs * 5 else 1
        add_user(f"u{k:06d}@people.test", org, roles[k % 5] if org != 1 else "external")
        k += 1

    with db:
        db.executemany("INSERT INTO organization (id, name, createdAt) VALUES (?, ?, ?)", orgs)
        db.executemany("INSERT INTO mailService (id, organizationId, name, createdAt) VALUES (?, ?, ?, ?)", services)
        db.executemany("INSERT INTO domain (name, mailServiceId) VALUES (?, ?)", domains)
        db.executemany("INSERT INTO mailbox (id, mailServiceId, address, createdAt) VALUES (?, ?, ?, ?)", mailboxes)
        db.executemany("INSERT INTO device (id, mailboxId, name, kind, digest, createdAt) VALUES (?, ?, ?, 'device', ?, ?)", devices)
        db.executemany('INSERT INTO "user" (id, login, displayName, createdAt) VALUES (?, ?, ?, ?)', users)
        db.executemany("INSERT INTO membership (userId, organizationId, role, createdAt) VALUES (?, ?, ?, ?)", members)
    db.execute("ANALYZE")
    db.close()
    with open(plan_out, "w") as f:
        json.dump({"mailboxes": len(mailboxes), "devices": len(devices), "users": len(users), "organizations": len(orgs),
                   "big": big, "clients": plan}, f)
    print(f"seeded {len(mailboxes)} mailboxes, {len(devices)} devices, {len(users)} users, {len(orgs)} organizations "
          f"in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
