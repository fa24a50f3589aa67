"""Throwaway PostgreSQL servers and PgBouncers for the tests.

- `PostgresServer(port, directory)`: `initdb` (trust auth) and `pg_ctl` from the
  `postgresql` package, listening on 127.0.0.1:`port` only; `start`, `stop`
  (fast shutdown: connections are closed, as in a real restart), `url`.
- `PgBouncer(port, server, directory)`: Debian's `pgbouncer` in transaction
  mode in front of `server` (any `host:port`), trust auth.

Both run as the `postgres` user when the tests run as root (PostgreSQL refuses
root), in a private folder the caller removes.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from .conftest import stop_process

__all__ = ["PgBouncer", "PostgresServer", "pg_binary", "postgres_answers"]


def pg_binary(name: str) -> str | None:
    """The path of PostgreSQL's `name` program (`initdb`, `pg_ctl`), or None."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def postgres_answers(url: str, timeout: float = 2.0) -> bool:
    """True when a PostgreSQL server accepts a connection at `url`."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout)), autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _as_postgres() -> list[str]:
    """The command prefix that runs a program as `postgres` when we are root."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(path, user.pw_uid, user.pw_gid)


class PostgresServer:
    """A throwaway PostgreSQL on 127.0.0.1:`port`, its data in `directory`."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.data = directory / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def start(self) -> PostgresServer:
        initdb, pg_ctl = pg_binary("initdb"), pg_binary("pg_ctl")
        assert initdb is not None and pg_ctl is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        _own(self.directory)
        if not self.data.exists():
            subprocess.run(
                [*_as_postgres(), initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"
        log = str(self.directory / "log")
        command = [pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start"]
        subprocess.run(
            [*_as_postgres(), *command],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        pg_ctl = pg_binary("pg_ctl")
        if pg_ctl is None or not (self.data / "postmaster.pid").exists():
            return
        subprocess.run(
            [*_as_postgres(), pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


class PgBouncer:
    """Debian's pgbouncer on 127.0.0.1:`port`, pooling transactions to `host:server_port`."""

    def __init__(self, port: int, host: str, server_port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"postgresql://postgres@127.0.0.1:{port}/test"
        self.config = directory / "pgbouncer.ini"
        self.target = (host, server_port)

    def start(self, database: str = "test") -> PgBouncer:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        _own(self.directory)
        users = self.directory / "users.txt"
        users.write_text('"postgres" ""\n')
        host, server_port = self.target
        self.config.write_text(
            "[databases]\n"
            f"test = host={host} port={server_port} dbname={database} user=postgres\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.directory}\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            "default_pool_size = 4\n"
            "max_client_conn = 200\n"
            f"logfile = {self.directory / 'pgbouncer.log'}\n"
        )
        for path in (users, self.config):
            _own(path)
        self.process = subprocess.Popen(
            [*_as_postgres(), binary, str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not postgres_answers(self.url, timeout=1):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"pgbouncer did not start on port {self.port}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
