"""Fixtures shared by the whole suite.

- `app` and `client`: a fresh app and a client bound to it. `client` is opened
  with `with TestClient(app)`, so the lifespan hooks registered before the test
  asks for it run; routes may be added to `app` afterwards, up to the first
  request.
- `redis_url`: a Redis to test against. `REDIS_URL` (default
  redis://127.0.0.1:6379/0) if it answers; else a throwaway `redis-server`
  on a free port if the binary exists; else the test is skipped, or fails
  when `MICROWEB_REQUIRE_REDIS=1`.
- `redis_prefix`: a key prefix unique to the test; its keys are deleted after.
- `throwaway_redis`: a `redis-server` of the test's own on a free port, which the
  test may stop and start again (`RedisServer`).
- `redis_cluster_url`, `redis_sentinel_url`: a 3-primary, 3-replica Redis Cluster
  and a primary with two replicas behind three Sentinels, started once per run
  from `redis-server`/`redis-cli` (see tests/redis_topologies.py); skipped, or
  failed with `MICROWEB_REQUIRE_REDIS=1`, when the binaries are missing.
- `postgres_url`: a PostgreSQL to test against, by the same rules: `DATABASE_URL`
  (default postgresql://postgres@127.0.0.1:5432/test) if it answers; else a
  throwaway server from `initdb`/`pg_ctl` on a free port if they exist; else
  skipped, or failed when `MICROWEB_REQUIRE_POSTGRES=1`.
- `postgres_table`: a session table name unique to the test; the table and its
  `_users` table are dropped after.
- `options_for(driver, request, tmp_path)`: the `session()` options of a driver by
  name, on the test's own folder, key prefix, table or file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from microweb import MicroWeb
from microweb.testing import TestClient


@pytest.fixture
def app() -> MicroWeb:
    return MicroWeb()


@pytest.fixture
def client(app: MicroWeb) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


# -- Redis -------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at `url` within half a second."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway `redis-server` (no persistence) on 127.0.0.1:`port`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary is not None
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [binary, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not redis_answers(self.url):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process`, and kill it if it has not ended 5 s later."""
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    if process.poll() is None:
        process.kill()
        process.wait()


def no_redis(reason: str) -> None:
    """Skip the test for `reason`, or fail it when MICROWEB_REQUIRE_REDIS=1."""
    if os.environ.get("MICROWEB_REQUIRE_REDIS") == "1":
        pytest.fail(f"MICROWEB_REQUIRE_REDIS=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if redis_answers(url):
        yield url
        return
    if shutil.which("redis-server") is None:
        no_redis(f"no Redis answers at {url} and there is no redis-server binary to start")
    server = RedisServer(free_port()).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    prefix = f"microweb-test:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def throwaway_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own (never the shared one), which it may stop, kill
    or start again; stopped after the test."""
    if shutil.which("redis-server") is None:
        no_redis("there is no redis-server binary to start a throwaway Redis")
    server = RedisServer(free_port()).start()
    try:
        yield server
    finally:
        server.stop()


def _topology_url(kind: Any, directory: Path) -> Iterator[str]:
    """Start a Redis topology of `kind` (Cluster, Sentinels) in `directory`, yield its URL,
    stop it after."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        no_redis("redis-server and redis-cli are needed to start a Redis Cluster or Sentinels")
    topology = kind(directory)
    try:
        yield topology.url
    finally:
        topology.stop()


# -- PostgreSQL --------------------------------------------------------------------


def no_postgres(reason: str) -> None:
    """Skip the test for `reason`, or fail it when MICROWEB_REQUIRE_POSTGRES=1."""
    if os.environ.get("MICROWEB_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"MICROWEB_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        no_postgres("psycopg is not installed (pip install 'microweb[postgres]')")
    from .postgres_servers import PostgresServer, pg_binary, postgres_answers

    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    if postgres_answers(url):
        yield url
        return
    if pg_binary("initdb") is None or pg_binary("pg_ctl") is None:
        no_postgres(f"no PostgreSQL answers at {url} and there is no initdb/pg_ctl to start one")
    server = PostgresServer(free_port(), Path(tempfile.mkdtemp(prefix="microweb-pg-")))
    try:
        yield server.start().url
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


def drop_session_tables(url: str, table: str) -> None:
    """Drop session table `table` and its `_users` table at `url`."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}, {table}_users")


@pytest.fixture
def postgres_table(postgres_url: str) -> Iterator[str]:
    table = f"microweb_test_{uuid.uuid4().hex[:12]}"
    yield table
    drop_session_tables(postgres_url, table)


def options_for(driver: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The `session()` options of `driver` ("memory", "cookie", "file", "redis",
    "postgres", "sqlite") for this test: its own folder, Redis prefix, table or file."""
    if driver == "cookie":
        return {"driver": "cookie", "secret": "s" * 32}
    if driver == "file":
        return {"driver": "file", "directory": str(tmp_path / "sessions")}
    if driver == "redis":
        url = request.getfixturevalue("redis_url")
        return {"driver": "redis", "url": url, "prefix": request.getfixturevalue("redis_prefix")}
    if driver == "postgres":
        url = request.getfixturevalue("postgres_url")
        return {
            "driver": "postgres",
            "url": url,
            "table": request.getfixturevalue("postgres_table"),
        }
    if driver == "sqlite":
        return {"driver": "sqlite", "url": f"sqlite:///{tmp_path / 'sessions.db'}"}
    return {"driver": "memory"}


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from .redis_topologies import Cluster

    yield from _topology_url(Cluster, tmp_path_factory.mktemp("cluster"))


@pytest.fixture(scope="session")
def redis_sentinel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from .redis_topologies import Sentinels

    yield from _topology_url(Sentinels, tmp_path_factory.mktemp("sentinel"))


@pytest.fixture(autouse=True)
def _no_debug_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps made in tests are not in debug mode because the shell exported MICROWEB_DEBUG."""
    monkeypatch.delenv("MICROWEB_DEBUG", raising=False)
