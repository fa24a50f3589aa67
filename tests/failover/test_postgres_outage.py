"""PostgreSQL stopped under load and started again (`make test-failover`): every answer
is 200 or 503 with Retry-After (never a 500), and the app recovers without a restart,
with the login it confirmed before the stop still there."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..apps.login_app import login_app
from ..conftest import free_port, no_postgres
from ..postgres_servers import PostgresServer, pg_binary
from ..test_lost_updates import lifespan

pytestmark = pytest.mark.failover
pytest.importorskip("psycopg")

COOKIE = "microweb_session"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    if pg_binary("initdb") is None or pg_binary("pg_ctl") is None:
        no_postgres("there is no initdb/pg_ctl to start a PostgreSQL the test may stop")
    server = PostgresServer(free_port(), Path(tempfile.mkdtemp(prefix="microweb-pg-down-")))
    try:
        yield server.start()
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(server.directory, ignore_errors=True)


def test_the_database_stopped_under_load_answers_503_then_recovers_by_itself(
    own_postgres: PostgresServer,
) -> None:
    app = login_app(driver="postgres", url=own_postgres.url)

    async def scenario() -> tuple[Counter[int], set[str], list[Any], Any]:
        statuses: Counter[int] = Counter()
        retry_after: set[str] = set()
        response = await app.request("/login/ann", method="POST")
        cookie = {"cookie": f"{COOKIE}={response.cookies[COOKIE]}"}
        phases: list[Any] = []
        running = True

        async def load() -> None:
            while running:
                answer = await app.request("/visit", method="POST", headers=cookie)
                statuses[answer.status_code] += 1
                if answer.status_code == 503:
                    retry_after.add(answer.headers.get("retry-after", ""))
                await asyncio.sleep(0.005)

        async def until(status: int) -> None:
            for _ in range(400):
                if (await app.request("/me", headers=cookie)).status_code == status:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(f"no {status} within 20 s")

        workers = [asyncio.ensure_future(load()) for _ in range(8)]
        await asyncio.sleep(0.3)
        phases.append(dict(statuses))
        await asyncio.to_thread(own_postgres.stop)
        await until(503)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(own_postgres.start)
        await until(200)
        await asyncio.sleep(0.3)
        running = False
        await asyncio.gather(*workers)
        me = (await app.request("/me", headers=cookie)).json()
        return statuses, retry_after, phases, me

    async def main() -> tuple[Counter[int], set[str], list[Any], Any]:
        async with lifespan(app):
            return await scenario()

    statuses, retry_after, phases, me = asyncio.run(main())
    assert set(statuses) == {200, 503}, statuses
    assert phases[0].get(200, 0) > 0
    assert retry_after == {"5"}
    assert me == {"user": "ann"}  # the confirmed login survived the restart
