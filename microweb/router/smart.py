# SmartRouter: a port of Hono's SmartRouter (src/router/smart-router/router.ts).
#
# Rules:
# - `add` only records the routes.
# - The first `match` replays them into each candidate router in turn; the first one that
#   does not raise UnsupportedPathError wins, and from then on `match` IS that router's
#   bound `match` (no indirection on the hot path). `name` becomes
#   "SmartRouter + <winner's name>".
# - Adding after that raises RuntimeError, as in RegExpRouter.
from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from microweb.router.base import (
    MESSAGE_MATCHER_IS_ALREADY_BUILT,
    Result,
    Router,
    UnsupportedPathError,
)

__all__ = ["SmartRouter"]

T = TypeVar("T")


class SmartRouter(Generic[T]):
    name: str = "SmartRouter"

    def __init__(self, routers: Sequence[Router[T]]) -> None:
        self._routers: list[Router[T]] = list(routers)
        self._routes: list[tuple[str, str, T]] | None = []

    def add(self, method: str, path: str, handler: T) -> None:
        if self._routes is None:
            raise RuntimeError(MESSAGE_MATCHER_IS_ALREADY_BUILT)
        self._routes.append((method, path, handler))

    def match(self, method: str, path: str) -> Result[T]:
        routes = self._routes
        if routes is None:
            raise RuntimeError("Fatal error")

        for router in self._routers:
            try:
                for route in routes:
                    router.add(*route)
                res = router.match(method, path)
            except UnsupportedPathError:
                continue
            self.match = router.match  # type: ignore[method-assign]
            self._routers = [router]
            self._routes = None
            # e.g. "SmartRouter + RegExpRouter"
            self.name = f"SmartRouter + {router.name}"
            return res

        # no router can take these routes
        raise RuntimeError("Fatal error")
