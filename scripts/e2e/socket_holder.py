"""What systemd does for postern.socket, small enough to read: bind the listening sockets once,
hand them to each posternd started under them (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, fds from
3 on), and keep them open across restarts, so that clients never find a socket missing: while no
posternd runs, their connections wait in the socket's backlog."""

import os
import socket

CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")


def socket_unit(run_dir, unit="postern.socket"):
    """The sockets of conf/postern.socket as SocketHolder takes them: each ListenStream path moved
    from /run/postern into run_dir, with the unit's SocketMode."""
    listen, mode = [], 0o666
    for line in open(os.path.join(CONF_DIR, unit)):
        key, _, value = line.strip().partition("=")
        if key == "ListenStream" and value.startswith("/"):
            listen.append(value)
        elif key == "SocketMode":
            mode = int(value, 8)
    return [(os.path.basename(p).split(".")[0], os.path.join(run_dir, os.path.basename(p)), mode) for p in listen]


class SocketHolder:
    def __init__(self, sockets):
        """sockets: [(name, unix socket path, mode)], bound now, in this order (fd 3, 4, ...)."""
        self.sockets = []
        for name, path, mode in sockets:
            if os.path.exists(path):
                os.unlink(path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, mode)
            s.listen(1024)
            self.sockets.append((name, path, s))

    def paths(self):
        return [path for _, path, _ in self.sockets]

    def fds(self):
        return tuple(s.fileno() for _, _, s in self.sockets)

    def environment(self):
        return {"LISTEN_FDS": str(len(self.sockets)), "LISTEN_FDNAMES": ":".join(n for n, _, _ in self.sockets)}

    def command(self, argv):
        """argv run through bash, which moves the sockets to fds 3, 4, ... and sets LISTEN_PID to its
        own pid before exec'ing argv (the pid stays the same across exec)."""
        # Through fds 100+ first, so that no socket is overwritten before it is moved.
        park = " ".join(f"{100 + i}<&{fd}" for i, fd in enumerate(self.fds()))
        place = " ".join(f"{3 + i}<&{100 + i} {100 + i}<&-" for i in range(len(self.sockets)))
        return ["/bin/bash", "-c", f'export LISTEN_PID=$$; exec {park}; exec "$@" {place}', "sh", *argv]

    def close(self):
        for _, path, s in self.sockets:
            s.close()
            if os.path.exists(path):
                os.unlink(path)
        self.sockets = []
