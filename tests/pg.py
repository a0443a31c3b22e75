"""Start and stop a private PostgreSQL server from Debian's binaries, for tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for cand in candidates:
        if Path(cand, "initdb").exists():
            return Path(cand)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl in a temporary folder, listening on 127.0.0.1 only."""

    def __init__(self, bindir: Path, workdir: Path) -> None:
        self.bindir = bindir
        self.datadir = workdir / "data"
        self.sockdir = workdir / "sock"
        self.port = free_port()
        self.workdir = workdir

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self.sockdir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            for path in (self.workdir, self.sockdir):
                os.chown(path, pg.pw_uid, pg.pw_gid)
        self._run("initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l",
                  str(self.workdir / "server.log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


@contextmanager
def running_server(bindir: Path, prefix: str) -> Iterator[str]:
    """A server started in a fresh folder (not under pytest's: those are private to root,
    the server runs as postgres), its URL while the block runs, then stopped."""
    server = PostgresServer(bindir, Path(tempfile.mkdtemp(prefix=prefix)))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
