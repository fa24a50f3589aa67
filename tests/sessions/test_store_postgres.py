"""The PostgreSQL driver on its own: one sweeper at a time, PgBouncer in transaction
mode, a database down at startup, and its options. (The database stopped and started
under load is in tests/failover/test_postgres_outage.py: `make test-failover`.)"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microweb.sessions.store import Change, new_id
from microweb.testing import TestClient

from ..apps.login_app import login_app
from ..conftest import free_port, no_postgres
from ..postgres_servers import PgBouncer
from ..test_lost_updates import lifespan
from .conftest import COOKIE

psycopg = pytest.importorskip("psycopg")
from microweb.sessions.store_postgres import PostgresStore  # noqa: E402


def expired_rows(store: PostgresStore, n: int) -> list[Any]:
    return [store.save(new_id(), Change({"a": "1"}), create=True, idle_s=0.05) for _ in range(n)]


async def rows(url: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cursor = await conn.execute(f"SELECT count(*) FROM {table}")
        found = await cursor.fetchone()
    return int(found[0])


def test_a_worker_that_finds_another_sweeping_leaves_the_sweep_to_it(
    postgres_url: str, postgres_table: str
) -> None:
    store = PostgresStore(postgres_url, table=postgres_table)

    async def scenario() -> tuple[Any, int, Any, int]:
        await store.open()
        await asyncio.gather(*expired_rows(store, 3))
        await asyncio.sleep(0.2)
        # Another worker's sweep holds the lock for the length of its transaction.
        async with await psycopg.AsyncConnection.connect(postgres_url) as other:
            await other.execute("SELECT pg_advisory_xact_lock(%s)", (store._sweep_lock,))
            while_held = await store.sweep()
            left_while_held = await rows(postgres_url, postgres_table)
        after = await store.sweep()
        left = await rows(postgres_url, postgres_table)
        await store.close()
        return while_held, left_while_held, after, left

    assert asyncio.run(scenario()) == (None, 3, 3, 0)


def test_two_workers_sweeping_together_delete_each_row_once(
    postgres_url: str, postgres_table: str
) -> None:
    first = PostgresStore(postgres_url, table=postgres_table)
    second = PostgresStore(postgres_url, table=postgres_table)

    async def scenario() -> tuple[int, int]:
        await first.open()
        await second.open()
        await asyncio.gather(*expired_rows(first, 2500))
        await asyncio.sleep(0.2)
        swept = await asyncio.gather(first.sweep(), second.sweep())
        left = await rows(postgres_url, postgres_table)
        await first.close()
        await second.close()
        return sum(n or 0 for n in swept), left

    assert asyncio.run(scenario()) == (2500, 0)


def test_users_with_nothing_left_are_swept_and_a_logout_everywhere_is_kept(
    postgres_url: str, postgres_table: str
) -> None:
    store = PostgresStore(postgres_url, table=postgres_table)

    async def scenario() -> list[tuple[Any, ...]]:
        await store.open()
        for user in ("gone", "kept"):
            change = Change({"__user": user, "user_id": f'"{user}"'})
            await store.save_signed_in(
                store.new_id(user), change, user_id=user, idle_s=0.05, index_s=0.1
            )
        await store.destroy_user("kept")
        await asyncio.sleep(0.2)
        await store.sweep()
        async with await psycopg.AsyncConnection.connect(postgres_url) as conn:
            cursor = await conn.execute(f"SELECT user_id, generation FROM {postgres_table}_users")
            found = await cursor.fetchall()
        await store.close()
        return found

    assert asyncio.run(scenario()) == [("kept", 1)]


def test_a_schema_qualified_table_is_made_in_its_schema(postgres_url: str) -> None:
    schema = f"microweb_test_{new_id()[:8].lower().replace('-', '_')}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    app = login_app(driver="postgres", url=postgres_url, table=f"{schema}.sessions")
    try:
        with TestClient(app) as client:
            client.post("/login/ann")
            assert client.post("/visit").json() == {"user": "ann", "n": 1}
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            found = conn.execute(f"SELECT count(*) FROM {schema}.sessions").fetchone()
        assert found == (1,)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_without_a_url_the_driver_reads_database_url(
    postgres_url: str, postgres_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    app = login_app(driver="postgres", table=postgres_table)
    with TestClient(app) as client:
        client.post("/login/ann")
        assert client.get("/me").json() == {"user": "ann"}


def test_without_a_url_or_database_url_the_driver_says_what_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        login_app(driver="postgres")
    with pytest.raises(ValueError, match="postgresql://"):
        login_app(driver="postgres", url="mysql://db/app")


def test_the_database_down_at_startup_does_not_stop_the_app() -> None:
    app = login_app(driver="postgres", url=f"postgresql://postgres@127.0.0.1:{free_port()}/x")

    @app.get("/plain")
    async def plain(c: Any) -> str:
        return "plain"

    with TestClient(app) as client:
        assert client.get("/plain").status_code == 200
        response = client.post("/login/ann")
        assert response.status_code == 503
        assert response.headers.get("retry-after") == "5"


# -- PgBouncer in transaction mode --------------------------------------------------------


@pytest.fixture(scope="module")
def pgbouncer_url(postgres_url: str) -> Iterator[str]:
    if shutil.which("pgbouncer") is None and not os.path.exists("/usr/sbin/pgbouncer"):
        no_postgres("there is no pgbouncer binary (apt-get install pgbouncer)")
    from psycopg.conninfo import conninfo_to_dict

    target = conninfo_to_dict(postgres_url)
    directory = Path(tempfile.mkdtemp(prefix="microweb-pgbouncer-"))
    bouncer = PgBouncer(
        free_port(), str(target.get("host")), int(target.get("port") or 5432), directory
    )
    try:
        yield bouncer.start(database=str(target.get("dbname"))).url
    finally:
        bouncer.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_sessions_work_through_pgbouncer_in_transaction_mode(
    pgbouncer_url: str, postgres_table: str
) -> None:
    # Four server connections for the app's ten: each transaction may land on any of
    # them, where a statement prepared on another would be missing (or another one).
    app = login_app(everywhere=True, driver="postgres", url=pgbouncer_url, table=postgres_table)

    async def scenario() -> tuple[list[Any], list[Any], Counter[int]]:
        statuses: Counter[int] = Counter()
        cookies = []
        for n in range(6):
            response = await app.request(f"/login/user{n % 2}", method="POST")
            statuses[response.status_code] += 1
            cookies.append(f"{COOKIE}={response.cookies[COOKIE]}")

        async def visits(cookie: str) -> Any:
            last = None
            for _ in range(15):
                response = await app.request("/visit", method="POST", headers={"cookie": cookie})
                statuses[response.status_code] += 1
                last = response.json()
            return last

        counted = await asyncio.gather(*(visits(cookie) for cookie in cookies))
        logout = await app.request("/logout", method="POST", headers={"cookie": cookies[0]})
        statuses[logout.status_code] += 1
        after = [
            (await app.request("/me", headers={"cookie": cookie})).json() for cookie in cookies
        ]
        return counted, after, statuses

    async def main() -> tuple[list[Any], list[Any], Counter[int]]:
        async with lifespan(app):
            return await scenario()

    counted, after, statuses = asyncio.run(main())
    assert statuses == Counter({200: 6 + 6 * 15 + 1})
    assert counted == [{"user": f"user{n % 2}", "n": 15} for n in range(6)]
    assert after == [{"user": None if n % 2 == 0 else "user1"} for n in range(6)]


def prepare_threshold(url: str) -> Any:
    """What the driver's pool sets on a new connection to `url`."""
    from microweb.sessions.postgres_pool import ConnectionPool

    async def scenario() -> Any:
        pool = ConnectionPool(url)
        async with pool.connection() as conn:
            threshold = conn.prepare_threshold
        await pool.close()
        return threshold

    return asyncio.run(scenario())


def test_statements_are_prepared_on_the_server_itself_and_never_through_pgbouncer(
    postgres_url: str, pgbouncer_url: str
) -> None:
    assert prepare_threshold(postgres_url) == 5
    assert prepare_threshold(pgbouncer_url) is None
