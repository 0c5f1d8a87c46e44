"""Bulk-loads M mailboxes and A aliases (spread over the mailboxes, round-robin) straight into
posternd's SQLite file (created and migrated by posternd beforehand), as the control API would
store them, and writes what the benchmark reads:

  KEYS_OUT      "map key expected" lines for smload: a third each of mailboxes, virtual (aliases)
                and senders hits, plus 10% misses ("-" expected)
  TABLE_OUT     the same virtual_alias_maps data as a Postfix source file (alias, then mailbox),
                for `postmap lmdb:FILE`
  QUERIES_OUT   one alias (or a missing key) per line, for `postmap -q - TABLE`
  EXPECTED_OUT  what postmap -q - must print for QUERIES_OUT ("key<TAB>value" for the hits)

    seed_routing.py DATABASE M A KEYS_OUT TABLE_OUT QUERIES_OUT EXPECTED_OUT
"""
import random
import sqlite3
import sys
import time


def main(db_path, m, a, keys_out, table_out, queries_out, expected_out):
    db = sqlite3.connect(db_path)
    service = db.execute("SELECT id FROM mailService WHERE name = 'bench'").fetchone()[0]
    now = time.strftime("%Y-%m-%d %H:%M:%S.000", time.gmtime())
    started = time.monotonic()
    with db:
        db.executemany("INSERT INTO mailbox (id, mailServiceId, address, createdAt) VALUES (?, ?, ?, ?)",
                       ((i + 1, service, f"box{i}@bench.example", now) for i in range(m)))
        db.executemany("INSERT INTO alias (mailboxId, address, createdAt) VALUES (?, ?, ?)",
                       ((i % m + 1, f"alias{i}@bench.example", now) for i in range(a)))
    rng = random.Random(7)
    lines, queries, expected = [], [], []
    for _ in range(30000):
        i, j = rng.randrange(m), rng.randrange(a)
        lines.append(f"mailboxes box{i}@bench.example bench.example/box{i}/")
        lines.append(f"virtual alias{j}@bench.example box{j % m}@bench.example")
        lines.append(f"senders alias{j}@bench.example box{j % m}@bench.example")
        if rng.random() < 0.3:
            lines.append(f"virtual nobody{j}@bench.example -")
    rng.shuffle(lines)
    for _ in range(200000):
        j = rng.randrange(a)
        if rng.random() < 0.1:
            queries.append(f"nobody{j}@bench.example")
        else:
            queries.append(f"alias{j}@bench.example")
            expected.append(f"alias{j}@bench.example\tbox{j % m}@bench.example")
    with open(keys_out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(table_out, "w") as f:
        f.writelines(f"alias{j}@bench.example box{j % m}@bench.example\n" for j in range(a))
    with open(queries_out, "w") as f:
        f.write("\n".join(queries) + "\n")
    with open(expected_out, "w") as f:
        f.write("\n".join(expected) + "\n")
    print(f"seeded {m} mailboxes and {a} aliases in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:8])
