"""The same virtual_alias_maps lookups through Postfix's own postmap, in batch mode
(`postmap -q - TABLE < queries`), against: an lmdb: table, the same table through a private
Postfix's proxymap (proxy:lmdb:), and posternd's socketmap. Checks every answer against the
expected output and prints one line per table for scripts/bench.

    postfix_maps.py TABLE_SOURCE QUERIES EXPECTED SOCKETMAP_SOCKET WORKDIR
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import PrivatePostfix, free_port  # noqa: E402


def timed(config_dir, table, queries, expected):
    with open(queries) as q:
        started = time.monotonic()
        r = subprocess.run(["postmap", "-c", config_dir, "-q", "-", table], stdin=q, capture_output=True, text=True, timeout=600)
        took = time.monotonic() - started
    assert r.returncode in (0, 1) and "fatal" not in r.stderr, f"postmap -q - {table}: {r.stderr[-500:]}"
    want = open(expected).read().split("\n")
    got = r.stdout.split("\n")
    assert got == want, f"postmap -q - {table}: {sum(a != b for a, b in zip(got, want))} answers differ (of {len(want)})"
    lookups = sum(1 for _ in open(queries))
    return lookups, took


def main(source, queries, expected, socket, work):
    os.makedirs(work, exist_ok=True)
    os.chmod(work, 0o711)
    defaults = subprocess.run(["postconf", "-d", "-h", "proxy_read_maps"], capture_output=True, text=True, check=True).stdout.strip()
    pf = PrivatePostfix(os.path.join(work, "postfix"), "/nonexistent", free_port(), check_socket=False,
                        extra_main_cf={"proxy_read_maps": f"{defaults} proxy:lmdb:{source}", "smtpd_sasl_auth_enable": "no"})
    pf.write_config()
    started = time.monotonic()
    subprocess.run(["postmap", "-c", pf.config_dir, f"lmdb:{source}"], check=True, timeout=600)
    print(f"kind=postmap-build entries={sum(1 for _ in open(source))} seconds={time.monotonic() - started:.1f}", flush=True)
    os.chmod(source + ".lmdb", 0o644)
    pf.start()
    try:
        for name, table in (("lmdb", f"lmdb:{source}"), ("proxymap", f"proxy:lmdb:{source}"),
                            ("socketmap", f"socketmap:unix:{socket}:virtual")):
            lookups, took = timed(pf.config_dir, table, queries, expected)
            print(f"kind=postmap table={name} lookups={lookups} seconds={took:.2f} lookups/s={lookups / took:.0f}", flush=True)
    finally:
        pf.stop()


if __name__ == "__main__":
    main(*sys.argv[1:6])
