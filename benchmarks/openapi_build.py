"""How long `openapi(app)` takes on the GitHub REST API's route table, a validator on each route.

Usage (from the repository root)::

    .venv/bin/python benchmarks/openapi_build.py [--rounds 15]

The app: every route of benchmarks/github_routes.py, behind `session()` and `csrf()`, with
`require_auth()` on the `/user` routes. Each GET and DELETE route validates its query (a
dataclass of paging fields), each other route its JSON body (a dataclass of its own, so every
write route adds a component), and every route declares a 200 response model. The time is of
a whole `openapi(app, ...)` call, 3.1 and 3.0, the best and the median of the rounds, in wall
time and in CPU time (each round builds from scratch: nothing is cached between calls). On a
busy machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.github_routes import ROUTES
from microweb import MicroWeb, csrf, require_auth, session, validator
from microweb.openapi import openapi


@dataclasses.dataclass
class Paging:
    per_page: int = 30
    page: int = 1
    direction: str | None = None


@dataclasses.dataclass
class Item:
    id: int
    node_id: str
    url: str
    created_at: str | None = None


def build_app() -> MicroWeb:
    app = MicroWeb()
    app.use(session())
    app.use(csrf())
    app.use("/user/*", require_auth())
    for n, (method, path) in enumerate(ROUTES):

        async def handler(c: Any) -> Any:
            return {}

        handler.__name__ = f"op{n}"
        if method in ("GET", "DELETE"):
            check = validator("query", Paging)
        else:
            body = dataclasses.make_dataclass(
                f"Body{n}", [("name", str), ("labels", list[str]), ("body", str | None, None)]
            )
            check = validator("json", body)
        app.on(method, path, check, handler, responses={200: Item})
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    app = build_app()
    handlers = sum(1 for r in app.routes if r.is_handler)
    for dialect in ("3.1", "3.0"):
        wall, cpu = [], []
        for _ in range(args.rounds):
            start, start_cpu = time.perf_counter(), time.process_time()
            doc = openapi(app, title="GitHub", version="1", dialect=dialect)
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
        print(
            f"openapi(dialect={dialect!r}): {handlers} routes, {len(doc['paths'])} paths, "
            f"{len(doc['components']['schemas'])} schemas: best {min(wall):.1f} ms, "
            f"median {statistics.median(wall):.1f} ms (CPU: best {min(cpu):.1f} ms, "
            f"median {statistics.median(cpu):.1f} ms)"
        )


if __name__ == "__main__":
    main()
