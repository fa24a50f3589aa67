"""Session round trips on one Redis, a Redis Cluster and Sentinel, and what durable logins cost.

Usage (from the repository root)::

    .venv/bin/python benchmarks/scaleout.py [--requests 3000] [--concurrency 32] [--rounds 3]

Starts its own servers from redis-server/redis-cli on free ports (the topologies of
tests/redis_topologies.py): a primary with one replica, a 3+3 cluster, and the primary,
two replicas and three Sentinels. The app runs in this process, driven through ASGI
without HTTP (so the numbers are the session path and Redis, not a server): each row
is the median over rounds of requests per second, with `--concurrency` requests in
flight. Rows: a session round trip (load, change, save) per topology; a login
(regenerate, save, index) with and without `durable=True` on the replicated pair.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from microweb import MicroWeb, login, session
from microweb.testing import call_app
from tests.redis_topologies import Cluster, Replicated, Sentinels


def make_app(url: str, durable: bool = False) -> MicroWeb:
    app = MicroWeb()
    app.use(session(driver="redis", url=url, prefix="bench-scaleout:", durable=durable))

    @app.post("/visit")
    async def visit(c):  # type: ignore[no-untyped-def]
        return {"n": c.get("session").increment("n")}

    logins = itertools.count()

    @app.post("/login")
    async def do_login(c):  # type: ignore[no-untyped-def]
        await login(c, f"bench-user-{next(logins)}")  # one user each, as real logins are
        return "in"

    return app


async def rate(app: MicroWeb, path: str, requests: int, concurrency: int, cookies: bool) -> float:
    """Requests per second of `path`; with `cookies`, each worker keeps one session."""
    per_worker = requests // concurrency

    async def worker() -> None:
        cookie = None
        for _ in range(per_worker):
            headers = {"cookie": cookie} if cookie else None
            response = await call_app(app, "POST", "https://bench" + path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}: {response.text}")
            if cookies and cookie is None:
                cookie = response.headers["set-cookie"].split(";", 1)[0]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return per_worker * concurrency / (time.perf_counter() - started)


def measure(app: MicroWeb, path: str, args: argparse.Namespace, cookies: bool) -> float:
    asyncio.run(rate(app, path, args.requests // 10, args.concurrency, cookies))  # warm-up
    rounds = [
        asyncio.run(rate(app, path, args.requests, args.concurrency, cookies))
        for _ in range(args.rounds)
    ]
    return statistics.median(rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        pair = Replicated(base / "pair", replicas=1)
        cluster = Cluster(base / "cluster")
        sentinels = Sentinels(base / "sentinel")
        try:
            for name, url in (
                ("session round trip, one Redis", pair.url),
                ("session round trip, Redis Cluster", cluster.url),
                ("session round trip, Sentinel", sentinels.url),
            ):
                rows.append((name, measure(make_app(url), "/visit", args, cookies=True)))
            rows.append(("login, one Redis", measure(make_app(pair.url), "/login", args, False)))
            durable = make_app(pair.url, durable=True)
            rows.append(("login, durable=True", measure(durable, "/login", args, False)))
        finally:
            sentinels.stop()
            cluster.stop()
            pair.stop()
    first = rows[0][1]
    print("| row | requests/s | vs one Redis |")
    print("|---|---|---|")
    for name, value in rows:
        reference = first if name.startswith("session") else rows[3][1]
        print(f"| {name} | {value:,.0f} | {value / reference:.2f}x |")
    per_login_ms = 1000 * args.concurrency * (1 / rows[4][1] - 1 / rows[3][1])
    print(f"\ndurable login: {per_login_ms:+.2f} ms per login at {args.concurrency} in flight")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
