"""Two uvicorn servers of 4 workers each on one Redis Cluster: a login on one is used on
the other, and 200 concurrent clients changing different keys of one session lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from ..servers import serve

pytestmark = pytest.mark.failover


def test_two_servers_of_four_workers_share_sessions_and_lose_no_update(
    redis_cluster_url: str, tmp_path: Path
) -> None:
    env = {"REDIS_URL": redis_cluster_url}
    workers = ("--workers", "4")
    target = "tests.apps.cluster_app:app"
    with serve(target, tmp_path, env, workers) as one, serve(target, tmp_path, env, workers) as two:

        async def scenario() -> dict[str, object]:
            async with httpx.AsyncClient(timeout=30) as client:
                # Workers start after the port opens; retry the first request briefly.
                for _ in range(50):
                    try:
                        logged_in = await client.post(one.url + "/login/ann")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
                assert logged_in.status_code == 200
                cookie = {"cookie": logged_in.headers["set-cookie"].split(";", 1)[0]}
                seen = await client.get(two.url + "/all", headers=cookie)
                assert seen.json()["session"]["user_id"] == "ann"

                async def change(i: int) -> int:
                    server = (one, two)[i % 2]
                    response = await client.post(
                        f"{server.url}/put/k{i}?value=v{i}", headers=cookie
                    )
                    assert response.status_code == 200, response.text
                    return int(response.json()["pid"])

                pids = await asyncio.gather(*(change(i) for i in range(200)))
                assert len(set(pids)) > 2, "the requests did not spread over the workers"
                final = await client.get(one.url + "/all", headers=cookie)
                data: dict[str, object] = final.json()["session"]
                return data

        session = asyncio.run(scenario())
    assert session["user_id"] == "ann"
    assert {k: v for k, v in session.items() if k.startswith("k")} == {
        f"k{i}": f"v{i}" for i in range(200)
    }
