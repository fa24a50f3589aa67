"""A uvicorn worker SIGKILLed under load while another shares the Redis sessions.

Two uvicorn processes (A and B) on two ports use one throwaway Redis with a
prefix of the test's own. A client logs in on A and writes through A; load
alternates between A and B; A is killed mid-load; the client carries on
against B and stays logged in, with the data written through A.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .conftest import PersistentRedis, UvicornServer, error_lines

TIMEOUT = 4.0
WORKERS = 6
BEFORE_KILL = 1.0
AFTER_KILL = 1.5


@dataclass
class Hit:
    server: str  # "A" or "B"
    start: float
    end: float
    status: int | None = None
    user: str | None = None
    pid: int | None = None
    error: str | None = None


@dataclass
class Run:
    hits: list[Hit]
    killed_at: float
    a_answers: bool  # after the kill
    after: dict[str, object]  # what the client got from B afterwards


async def _scenario(a: UvicornServer, b: UvicornServer) -> Run:
    urls = {"A": a.url, "B": b.url}
    # One cookie jar for both ports: cookies are not port-specific, as in a browser.
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        login = await client.post(a.url + "/login/carol")
        assert login.status_code == 200 and login.json()["pid"] == a.pid
        assert (await client.post(a.url + "/put/written_on/A")).status_code == 200
        hits: list[Hit] = []
        a_dead = asyncio.Event()
        stop = asyncio.Event()

        async def worker(n: int) -> None:
            turn = n
            while not stop.is_set():
                turn += 1
                # Alternate between A and B; once A is gone, only B (the client failed over).
                name = "B" if a_dead.is_set() or turn % 2 else "A"
                hit = Hit(name, time.monotonic(), 0.0)
                try:
                    response = await client.get(urls[name] + "/me")
                except httpx.HTTPError as exc:
                    hit.error = repr(exc)
                else:
                    hit.status = response.status_code
                    if response.status_code == 200:
                        hit.user = response.json()["user"]
                        hit.pid = response.json()["pid"]
                hit.end = time.monotonic()
                hits.append(hit)

        load = asyncio.gather(*(worker(n) for n in range(WORKERS)))
        await asyncio.sleep(BEFORE_KILL)
        killed_at = time.monotonic()
        await asyncio.to_thread(a.kill)
        a_dead.set()
        await asyncio.sleep(AFTER_KILL)
        stop.set()
        await asyncio.wait_for(load, TIMEOUT * 2)

        after = {
            "me": (await client.get(b.url + "/me")).json(),
            "written_on": (await client.get(b.url + "/get/written_on")).json(),
            "put": (await client.post(b.url + "/put/written_on/B")).status_code,
            "reread": (await client.get(b.url + "/get/written_on")).json(),
        }
        try:
            await client.get(a.url + "/health")
            a_answers = True
        except httpx.ConnectError:
            a_answers = False
        return Run(hits, killed_at, a_answers, after)


def test_worker_killed_under_load_the_other_keeps_the_session(
    redis_factory: Callable[[], PersistentRedis],
    uvicorn_factory: Callable[..., UvicornServer],
) -> None:
    redis = redis_factory()
    env = {"FAULT_REDIS_URL": redis.url, "FAULT_PREFIX": f"microweb-fault:{uuid.uuid4().hex}:"}
    a = uvicorn_factory(**env)
    b = uvicorn_factory(**env)

    run = asyncio.run(_scenario(a, b))
    hits, killed_at = run.hits, run.killed_at

    assert a.process is not None and a.process.returncode == -9
    assert not run.a_answers, "A still answers after kill -9"

    on_b = [h for h in hits if h.server == "B"]
    on_a_before = [h for h in hits if h.server == "A" and h.end < killed_at]
    assert on_a_before and on_b
    # Every request B got, before and after A died, found the session logged in.
    assert all(h.error is None for h in on_b), [h.error for h in on_b if h.error][:5]
    assert all(h.status == 200 and h.user == "carol" and h.pid == b.pid for h in on_b)
    assert all(h.status == 200 and h.user == "carol" and h.pid == a.pid for h in on_a_before)
    assert [h for h in on_b if h.start > killed_at], "no request reached B after the kill"
    # Requests that went to A around the kill fail at the transport level, never hang.
    assert all(h.end - h.start < TIMEOUT for h in hits)

    after = run.after
    assert after["me"] == {"user": "carol", "pid": b.pid}
    assert after["written_on"] == {"value": "A", "pid": b.pid}
    assert after["put"] == 200
    assert after["reread"] == {"value": "B", "pid": b.pid}

    assert not error_lines(b.stderr_text()), b.stderr_text()[-2000:]
