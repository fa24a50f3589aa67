"""Lost updates: concurrent requests on one session that change different keys all persist.

Each pair of requests carries the same session cookie and meets at a barrier inside
the handler, after the middleware loaded the session and before either changes it:
both have read the same record, then both write, then both save. A store that saved
whole records (last write wins) would lose one key of every pair; a merging store
keeps them all. The pairs run in process (memory, file, redis, postgres, sqlite drivers),
and, for the drivers several processes share (file, postgres, sqlite), in two OS
processes meeting at a multiprocessing barrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from microweb import MicroWeb, session

PAIRS = int(os.environ.get("MICROWEB_LOST_UPDATE_PAIRS", "1000"))
PROCESS_ROUNDS = 200
COOKIE = "microweb_session"
SECRET = "lost-updates-secret"


def build_app(process_barrier: Any = None, **options: Any) -> MicroWeb:
    """An app whose /put and /incr requests wait for their pair before writing."""
    app = MicroWeb()
    app.use(session(**options))
    barriers: dict[str, asyncio.Barrier] = {}
    app.overlaps = 0  # type: ignore[attr-defined]

    async def meet(pair: str | None) -> None:
        if pair is None:
            return
        if pair == "process":  # the other process's request of this round
            await asyncio.to_thread(process_barrier.wait, 30)
            return
        barrier = barriers.setdefault(pair, asyncio.Barrier(2))
        await asyncio.wait_for(barrier.wait(), 10)
        barriers.pop(pair, None)
        app.overlaps += 1  # type: ignore[attr-defined]

    @app.get("/start")
    async def start(c: Any) -> str:
        c.get("session").put("base", 0)
        return "ok"

    @app.get("/put/:key")
    async def put(c: Any) -> str:
        s = c.get("session")
        assert s.exists("base")  # loaded before the barrier, like any handler's read
        await meet(c.req.query("pair"))
        s.put(c.req.param("key"), True)
        return "ok"

    @app.get("/incr/:key")
    async def incr(c: Any) -> Any:
        s = c.get("session")
        assert s.exists("base")
        await meet(c.req.query("pair"))
        return {"value": s.increment(c.req.param("key"))}

    @app.get("/all")
    async def everything(c: Any) -> Any:
        return c.get("session").all()

    return app


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (the session store opens and closes in it)."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


async def start_session(app: MicroWeb) -> str:
    response = await app.request("/start")
    assert response.status_code == 200
    value = response.cookies[COOKIE]
    assert value
    return f"{COOKIE}={value}"


async def pairs(app: MicroWeb, cookie: str, paths: list[tuple[str, str]]) -> None:
    """Send each (A, B) pair concurrently; A and B meet before writing."""
    headers = {"cookie": cookie}
    for a, b in paths:
        first, second = await asyncio.gather(
            app.request(a, headers=headers), app.request(b, headers=headers)
        )
        assert first.status_code == 200, (a, first.text)
        assert second.status_code == 200, (b, second.text)
        # The id never changes under concurrency: each response names the same session.
        assert f"{COOKIE}={first.cookies.get(COOKIE)}" == cookie


def run_pairs(app: MicroWeb, paths: list[tuple[str, str]]) -> dict[str, Any]:
    """Start a session, send `paths` as concurrent pairs on it and return all its data."""

    async def scenario() -> dict[str, Any]:
        async with lifespan(app):
            cookie = await start_session(app)
            await pairs(app, cookie, paths)
            response = await app.request("/all", headers={"cookie": cookie})
            return response.json()  # type: ignore[no-any-return]

    return asyncio.run(scenario())


def shared_options(driver: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """The options of a driver whose sessions several processes share."""
    if driver == "postgres":
        return {
            "driver": "postgres",
            "url": request.getfixturevalue("postgres_url"),
            "table": request.getfixturevalue("postgres_table"),
            "secret": SECRET,
        }
    if driver == "sqlite":
        return {"driver": "sqlite", "url": f"sqlite:///{tmp_path / 's.db'}", "secret": SECRET}
    return {"driver": "file", "directory": str(tmp_path / "sessions"), "secret": SECRET}


@pytest.fixture(params=["memory", "file", "redis", "postgres", "sqlite"])
def options(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    driver = request.param
    if driver in ("file", "postgres", "sqlite"):
        return shared_options(driver, request, tmp_path)
    if driver == "redis":
        return {
            "driver": "redis",
            "url": request.getfixturevalue("redis_url"),
            "prefix": request.getfixturevalue("redis_prefix"),
        }
    return {"driver": "memory"}


def test_concurrent_pairs_writing_different_keys_lose_nothing(options: dict[str, Any]) -> None:
    app = build_app(**options)
    paths = [(f"/put/a{i}?pair={i}", f"/put/b{i}?pair={i}") for i in range(PAIRS)]
    data = run_pairs(app, paths)

    missing = [f"{p}{i}" for i in range(PAIRS) for p in "ab" if f"{p}{i}" not in data]
    assert missing == [], f"{len(missing)} keys lost, e.g. {missing[:10]}"
    assert data["base"] == 0
    assert app.overlaps == 2 * PAIRS  # type: ignore[attr-defined]


def test_concurrent_pairs_incrementing_different_counters_lose_nothing(
    options: dict[str, Any],
) -> None:
    app = build_app(**options)
    paths = [(f"/incr/ca?pair={i}", f"/incr/cb?pair={i}") for i in range(PAIRS)]
    data = run_pairs(app, paths)

    assert data == {"base": 0, "ca": PAIRS, "cb": PAIRS}
    assert app.overlaps == 2 * PAIRS  # type: ignore[attr-defined]


# -- two OS processes: file, postgres, sqlite ----------------------------------------------------


def _worker(options: dict[str, Any], cookie: str, worker: int, barrier: Any) -> None:
    """Write PROCESS_ROUNDS keys to the session, meeting the other process every round."""

    async def run() -> None:
        app = build_app(barrier, **options)
        async with lifespan(app):
            for i in range(PROCESS_ROUNDS):
                response = await app.request(
                    f"/put/p{worker}-{i}?pair=process", headers={"cookie": cookie}
                )
                assert response.status_code == 200, response.text

    asyncio.run(run())


@pytest.mark.parametrize("driver", ["file", "postgres", "sqlite"])
def test_two_processes_writing_different_keys_lose_nothing(
    driver: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    options = shared_options(driver, request, tmp_path)
    app = build_app(**options)

    async def start() -> str:
        async with lifespan(app):
            return await start_session(app)

    cookie = asyncio.run(start())
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [
        context.Process(target=_worker, args=(options, cookie, worker, barrier))
        for worker in (1, 2)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    for process in workers:
        if process.is_alive():
            process.kill()
            process.join()
    assert [p.exitcode for p in workers] == [0, 0]

    async def read() -> dict[str, Any]:
        async with lifespan(app):
            response = await app.request("/all", headers={"cookie": cookie})
            return response.json()  # type: ignore[no-any-return]

    data = asyncio.run(read())
    expected = {f"p{w}-{i}" for w in (1, 2) for i in range(PROCESS_ROUNDS)}
    missing = sorted(expected - data.keys())
    assert missing == [], f"{len(missing)} keys lost, e.g. {missing[:10]}"
    assert data["base"] == 0
