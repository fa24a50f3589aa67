"""The SQLite driver on its own: a file locked by another writer or made read-only is a
503 that passes once the file is usable again, reads go on while another process
writes, and its url."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from microweb.sessions import store_sqlite
from microweb.testing import TestClient


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers give up after 0.2 s instead of 5 s (the test waits for it)."""
    monkeypatch.setattr(store_sqlite, "_BUSY_TIMEOUT_MS", 200)


def test_a_file_another_process_holds_locked_is_a_503_for_writes_only_until_it_is_free(
    url: str, make_client: Callable[..., TestClient], short_busy_timeout: None
) -> None:
    client = make_client(driver="sqlite", url=url)
    assert client.get("/set/a/1").status_code == 200
    other = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another worker's write transaction, held
    try:
        locked = client.get("/set/b/2")
        assert locked.status_code == 503
        assert locked.headers.get("retry-after") == "5"
        assert client.get("/get/a").json() == {"value": "1"}  # WAL: readers never wait
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.get("/set/b/2").status_code == 200
    assert client.get("/get/b").json() == {"value": "2"}


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """The files made read-only even for root (`chattr +i`), for the block."""
    done = []
    try:
        for path in paths:
            if path.exists():
                result = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
                if result.returncode != 0:
                    pytest.skip(f"cannot make a file read-only here: {result.stderr!r}")
                done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_file_is_a_503_until_it_is_writable_again(
    url: str, tmp_path: Path, make_client: Callable[..., TestClient], short_busy_timeout: None
) -> None:
    client = make_client(driver="sqlite", url=url)
    assert client.get("/set/a/1").status_code == 200
    database = tmp_path / "sessions.db"
    files = [database, Path(f"{database}-wal")]  # (the -shm is mapped: left alone)
    with immutable(*files):
        refused = client.get("/set/b/2")
        assert refused.status_code == 503
        assert refused.headers.get("retry-after") == "5"
    assert client.get("/set/b/2").status_code == 200
    assert client.get("/get/b").json() == {"value": "2"}


@pytest.mark.parametrize(
    "bad", ["sessions.db", "sqlite://sessions.db", "sqlite:///", "postgresql://x/y"]
)
def test_a_url_that_is_not_an_sqlite_file_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db"):
        store_sqlite.SqliteStore(bad)


def test_relative_and_absolute_urls_name_the_file_as_sqlalchemy_does() -> None:
    assert store_sqlite.sqlite_path("sqlite:///var/sessions.db") == "var/sessions.db"
    assert store_sqlite.sqlite_path("sqlite:////var/sessions.db") == "/var/sessions.db"


def test_a_schema_qualified_table_is_refused_on_sqlite(url: str) -> None:
    with pytest.raises(ValueError, match="no schema"):
        store_sqlite.SqliteStore(url, table="main.sessions")


def test_a_file_locked_at_startup_does_not_stop_the_app(
    url: str, make_client: Callable[..., TestClient], short_busy_timeout: None
) -> None:
    path = url[len("sqlite:///") :]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")  # not WAL yet: even the first read waits
        client = make_client(driver="sqlite", url=url)
        assert client.get("/plain").status_code == 200
        assert client.get("/set/a/1").status_code == 503
        other.execute("ROLLBACK")
    assert client.get("/set/a/1").status_code == 200
    assert client.get("/get/a").json() == {"value": "1"}
