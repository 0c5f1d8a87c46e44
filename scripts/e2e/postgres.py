"""A private PostgreSQL server (Debian's postgresql: initdb and pg_ctl) for end-to-end tests and
the benchmark: a data directory under the test's temp dir, a unix socket only, run as the
`postgres` user (initdb refuses root). Stopped at the end; restart() and stop()/start() are the
failure cases of the several-nodes tests.
"""

import glob
import os
import pwd
import shutil
import subprocess
import time


def bin_dir():
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql): scripts/test installs Debian's postgresql")
    return versions[-1]


class PrivatePostgres:
    def __init__(self, tmpdir, synchronous_commit="on"):
        self.dir = os.path.join(os.path.abspath(tmpdir), "postgres")
        self.data = os.path.join(self.dir, "data")
        self.socket_dir = os.path.join(self.dir, "run")
        self.bin = bin_dir()
        self.synchronous_commit = synchronous_commit
        self.pg = pwd.getpwnam("postgres")

    def _as_postgres(self, args, check=True, timeout=60):
        return subprocess.run(args, user=self.pg.pw_uid, group=self.pg.pw_gid, capture_output=True, text=True, check=check,
                              timeout=timeout, cwd="/tmp")

    def __enter__(self):
        os.makedirs(self.socket_dir, exist_ok=True)
        shutil.chown(self.dir, "postgres", "postgres")
        shutil.chown(self.socket_dir, "postgres", "postgres")
        os.chmod(self.dir, 0o755)
        self._as_postgres([f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        self.start()
        self.psql("CREATE DATABASE postern")
        return self

    def start(self):
        options = (f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} -c max_connections=100 "
                   f"-c synchronous_commit={self.synchronous_commit}")
        self._as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
                           "start", "-o", options])

    def stop(self, mode="fast"):
        self._as_postgres([f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def restart(self):
        self.stop()
        self.start()

    def __exit__(self, *exc):
        self.stop("immediate")

    def url(self, database="postern"):
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def psql(self, sql, database="postgres"):
        r = self._as_postgres([f"{self.bin}/psql", "-h", self.socket_dir, "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                               "-At", "-c", sql])
        return r.stdout.strip()

    def log_tail(self, n=40):
        try:
            return "".join(open(os.path.join(self.dir, "server.log")).readlines()[-n:])
        except OSError:
            return ""


if __name__ == "__main__":
    # For scripts/bench: `postgres.py start DIR [SYNCHRONOUS_COMMIT]` prints the database URL;
    # `postgres.py psql DIR SQL` runs SQL in the postern database; `postgres.py stop DIR`.
    import sys
    if sys.argv[1] == "psql":
        print(PrivatePostgres(sys.argv[2]).psql(sys.argv[3], database="postern"))
        sys.exit(0)
    server = PrivatePostgres(sys.argv[2], *(sys.argv[3:4]))
    if sys.argv[1] == "start":
        server.__enter__()
        print(server.url())
    else:
        server.stop("fast")
