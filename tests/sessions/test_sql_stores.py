"""What the PostgreSQL and SQLite drivers promise beyond the session suite: creation
races, logout everywhere against a racing login, the user index, reads that do not
write, the sweep, hashed ids and the schema."""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from microweb import MicroWeb, session
from microweb.sessions.sql_base import SqlStore
from microweb.sessions.store import GENERATION, USER, Change, new_id
from microweb.testing import TestClient

from ..apps.login_app import login_app
from .conftest import COOKIE, sql_options

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["postgres", "sqlite"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return sql_options(request.param, request, tmp_path)


def make_store(options: dict[str, Any], **overrides: Any) -> Any:
    """The store `session(**options)` would use, with `overrides` on its options."""
    return session(**{**options, **overrides}).manager.store


def run(store: SqlStore, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run `scenario` on a new event loop, with `store` opened before and closed after."""

    async def main() -> T:
        await store.open()
        try:
            return await scenario()
        finally:
            await store.close()

    return asyncio.run(main())


async def query(store: Any, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """The rows of `sql` run on `store`'s own database ({t} is its table, %s or ?
    the placeholders as the driver writes them)."""
    sql = sql.format(t=store.table)
    if hasattr(store, "path"):

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, args).fetchall()

        return await store._run(read)  # type: ignore[no-any-return]

    async def fetch(conn: Any) -> list[tuple[Any, ...]]:
        cursor = await conn.execute(sql.replace("?", "%s"), args)
        return await cursor.fetchall() if cursor.description else []

    return await store._run(fetch)  # type: ignore[no-any-return]


def signed_in(user: str, generation: str = "") -> Change:
    changed = {USER: user, "user_id": f'"{user}"'}
    if generation:
        changed[GENERATION] = generation
    return Change(changed)


def test_two_first_requests_under_one_id_merge_instead_of_failing(options: dict[str, Any]) -> None:
    store = make_store(options)
    sid = new_id()

    async def scenario() -> Any:
        saves = [
            store.save(sid, Change({f"k{i}": str(i)}), create=True, idle_s=60) for i in range(8)
        ]
        assert await asyncio.gather(*saves) == [True] * 8
        return await store.load(sid, 60)

    assert run(store, scenario) == {f"k{i}": str(i) for i in range(8)}


def test_a_regenerate_racing_logout_everywhere_is_refused_or_ended(
    options: dict[str, Any],
) -> None:
    store = make_store(options)

    async def scenario() -> list[Any]:
        survivors = []
        for round in range(30):
            user = f"racer-{round}"
            first = store.new_id(user)
            assert await store.save_signed_in(
                first, signed_in(user), user_id=user, idle_s=60, index_s=120
            )
            loaded = await store.load(first, 60)
            regenerated = store.new_id(user)
            change = signed_in(user, loaded[GENERATION])
            logout_first = round % 2 == 0
            racers = [
                store.destroy_user(user),
                store.save_signed_in(regenerated, change, user_id=user, idle_s=60, index_s=120),
            ]
            await asyncio.gather(*(racers if logout_first else reversed(racers)))
            if await store.load(regenerated, 60) is not None:
                survivors.append(regenerated)
        return survivors

    assert run(store, scenario) == []


def test_a_login_after_logout_everywhere_is_listed_and_the_old_ones_are_not(
    options: dict[str, Any],
) -> None:
    app = login_app(everywhere=True, **options)
    with TestClient(app) as laptop:
        phone = TestClient(app)
        laptop.post("/login/ann")
        phone.post("/login/ann")
        laptop.post("/logout")
        assert phone.get("/me").json() == {"user": None}
        tablet = TestClient(app)
        tablet.post("/login/ann")
        assert tablet.get("/me").json() == {"user": "ann"}
        assert phone.get("/me").json() == {"user": None}


def test_listing_and_logout_everywhere_read_the_user_index_not_the_table(
    options: dict[str, Any],
) -> None:
    store = make_store(options)

    async def scenario() -> list[str]:
        plans = []
        for name in ("user_sessions", "destroy_user_rows"):
            sql = getattr(store.sql, name)
            if hasattr(store, "path"):
                args = ("ann", 0.0)[: sql.count("?")]
                rows = await query(store, "EXPLAIN QUERY PLAN " + sql.replace("{", "{{"), *args)
                plans.append(" ".join(str(row[-1]) for row in rows))
            else:
                plans.append(await store._run(explain(sql.replace("%(user)s", "'ann'"))))
        return plans

    for plan in run(store, scenario):
        assert f"{store.table}_user_id" in plan, plan


def explain(sql: str) -> Callable[[Any], Awaitable[str]]:
    """PostgreSQL's plan for `sql` when it may use an index, as one line."""

    async def work(conn: Any) -> str:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            cursor = await conn.execute("EXPLAIN " + sql)
            return " ".join(row[0] for row in await cursor.fetchall())

    return work


def expires_at(store: Any, sid: str) -> Awaitable[list[tuple[Any, ...]]]:
    key = store.row_key(sid)
    return query(store, "SELECT expires_at FROM {t} WHERE id = ?", key)


def test_a_read_writes_nothing_until_the_expiry_lags_by_a_twentieth_of_the_idle_time(
    options: dict[str, Any],
) -> None:
    store = make_store(options)
    sid = new_id()

    async def scenario() -> tuple[Any, ...]:
        await store.save(sid, Change({"a": "1"}), create=True, idle_s=2.0)  # slack: 0.1 s
        saved = await expires_at(store, sid)
        for _ in range(3):
            assert await store.load(sid, 2.0) == {"a": "1"}
        after_reads = await expires_at(store, sid)
        await asyncio.sleep(0.3)
        assert await store.load(sid, 2.0) == {"a": "1"}
        after_lag = await expires_at(store, sid)
        return saved, after_reads, after_lag

    saved, after_reads, after_lag = run(store, scenario)
    assert after_reads == saved
    assert after_lag[0][0] > saved[0][0]


def count_rows(store: Any) -> Awaitable[list[tuple[Any, ...]]]:
    return query(store, "SELECT count(*) FROM {t}")


def test_the_sweep_deletes_the_expired_rows_and_only_those(options: dict[str, Any]) -> None:
    store = make_store(options)

    async def scenario() -> tuple[Any, Any, Any]:
        live = [new_id() for _ in range(2)]
        for sid in live:
            await store.save(sid, Change({"a": "1"}), create=True, idle_s=60)
        for _ in range(5):
            await store.save(new_id(), Change({"a": "1"}), create=True, idle_s=0.05)
        await asyncio.sleep(0.2)
        swept = await store.sweep()
        still = [await store.load(sid, 60) for sid in live]
        return swept, (await count_rows(store))[0][0], still

    swept, left, still = run(store, scenario)
    assert swept == 5
    assert left == 2
    assert still == [{"a": "1"}, {"a": "1"}]


def test_expired_rows_go_away_on_the_sweep_timer_without_being_asked(
    options: dict[str, Any],
) -> None:
    store = make_store(options, sweep_every=0.2)

    async def scenario() -> int:
        for _ in range(3):
            await store.save(new_id(), Change({"a": "1"}), create=True, idle_s=0.05)
        for _ in range(100):
            left = (await count_rows(store))[0][0]
            if left == 0:
                break
            await asyncio.sleep(0.1)
        return int(left)

    assert run(store, scenario) == 0


def test_no_session_id_is_ever_stored_only_its_hash(options: dict[str, Any]) -> None:
    app = login_app(**options)
    with TestClient(app) as client:
        client.post("/login/ann")
        client.post("/visit")
        sid = client.cookies.get(COOKIE)
    store = make_store(options)

    async def dump() -> str:
        rows = await query(store, "SELECT * FROM {t}")
        users = await query(store, "SELECT * FROM {t}_users")
        return repr(rows) + repr(users) + "".join(bytes(r[0]).hex() for r in rows)

    assert sid
    dumped = run(store, dump)
    assert sid not in dumped
    assert sid.split("~")[0] not in dumped
    assert hashlib.sha256(sid.encode()).hexdigest() in dumped


def test_the_tables_are_made_at_startup_when_missing(options: dict[str, Any]) -> None:
    store = make_store(options)

    async def tables() -> list[tuple[Any, ...]]:
        return [*await count_rows(store), *await query(store, "SELECT count(*) FROM {t}_users")]

    assert run(store, tables) == [(0,), (0,)]


def test_a_missing_table_with_create_tables_false_stops_the_app_naming_it(
    options: dict[str, Any],
) -> None:
    app = MicroWeb()
    app.use(session(**{**options, "table": "no_such_sessions", "create_tables": False}))
    with pytest.raises(RuntimeError, match="no_such_sessions"), TestClient(app):
        pass


def documented_schema(driver: str) -> str:
    """The SQL docs/sessions.md gives for `driver`'s tables."""
    text = (ROOT / "docs" / "sessions.md").read_text()
    blocks = re.findall(r"```sql\n-- " + driver + r"\n(.*?)```", text, re.S)
    assert len(blocks) == 1, f"docs/sessions.md has no schema for {driver}"
    return str(blocks[0])


def test_the_schema_in_the_docs_is_the_one_the_driver_works_with(
    options: dict[str, Any],
) -> None:
    driver = options["driver"]
    table = options.get("table", "microweb_sessions")
    schema = documented_schema(driver).replace("microweb_sessions", table)
    if driver == "sqlite":
        with sqlite3.connect(options["url"][len("sqlite:///") :]) as conn:
            conn.executescript(schema)
    else:
        import psycopg

        with psycopg.connect(options["url"], autocommit=True) as conn:
            conn.execute(schema.encode())
    app = login_app(**{**options, "create_tables": False})
    with TestClient(app) as client:
        client.post("/login/ann")
        assert client.post("/visit").json() == {"user": "ann", "n": 1}


@pytest.mark.parametrize("table", ["", "1abc", "a-b", "sessions; drop table x", "a" * 49])
def test_a_table_name_that_is_not_a_plain_identifier_is_refused(
    options: dict[str, Any], table: str
) -> None:
    with pytest.raises(ValueError, match="Invalid session table name"):
        session(**{**options, "table": table})


@pytest.mark.parametrize("every", [0, -1, "often", True])
def test_sweep_every_must_be_a_positive_number_of_seconds(
    options: dict[str, Any], every: Any
) -> None:
    with pytest.raises(ValueError, match="sweep_every"):
        session(**options, sweep_every=every)


def test_a_handle_ends_its_session_but_never_loads_it(options: dict[str, Any]) -> None:
    store = make_store(options)
    sid = new_id()

    async def scenario() -> tuple[Any, Any]:
        await store.save(sid, Change({"a": "1"}), create=True, idle_s=60)
        handle = store.handle(store.row_key(sid))
        read = await store.load(handle, 60)
        await store.destroy(handle)
        return read, await store.load(sid, 60)

    assert run(store, scenario) == (None, None)


def sqlite_plan(conn: sqlite3.Connection, sql: str, args: Any) -> str:
    return " ".join(str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))


async def postgres_login_plan(conn: Any, sql: str) -> str:
    args = {"id": b"k" * 32, "changed": '{"__user": "ann"}', "removed": []}
    args |= {"user": "ann", "idle": 60.0, "expected": ""}
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        cursor = await conn.execute("EXPLAIN " + sql, args)
        return " ".join(row[0] for row in await cursor.fetchall())


def test_a_login_touches_the_two_primary_keys_only_however_many_sessions_its_user_has(
    options: dict[str, Any],
) -> None:
    store = make_store(options)

    async def scenario() -> list[str]:
        if hasattr(store, "path"):
            upsert = {"id": b"k", "data": "{}", "patch": "{}", "user": "ann", "user_changes": True}
            upsert |= {"now": 0.0, "expires": 1.0}
            return [
                await store._run(sqlite_plan, store.sql.generation, ("ann",)),
                await store._run(sqlite_plan, store.sql.upsert, upsert),
            ]
        sql = store.sql.save_signed_in
        return [await store._run(lambda conn: postgres_login_plan(conn, sql))]

    for plan in run(store, scenario):
        assert f"{store.table}_user_id" not in plan, plan
        assert "Seq Scan" not in plan and f"SCAN {store.table}" not in plan, plan
