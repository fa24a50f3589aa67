# SmartRouter: a port of Hono's SmartRouter (src/router/smart-router/router.ts).
#
# Rules:
# - `add` only records the routes.
# - The first `match` replays them into each candidate router in turn; the first one that
#   does not raise UnsupportedPathError wins, and from then on `match` IS that router's
#   bound `match` (no indirection on the hot path). `name` becomes
#   "SmartRouter + <winner's name>".
# - Adding after that raises RuntimeError, as in RegExpRouter.
# - When every router refuses the routes, `match` raises RuntimeError naming each router and
#   the route it could not take.
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
            # only a `match` looked up before the first call gets here: that call replaced it
            raise RuntimeError(
                f"This SmartRouter already serves its routes with {self._routers[0].name}: look up "
                "`router.match` again instead of keeping the one taken before the first match"
            )

        refusals: list[str] = []
        for router in self._routers:
            try:
                for route in routes:
                    router.add(*route)
                res = router.match(method, path)
            except UnsupportedPathError as err:
                refusals.append(f"{router.name} cannot take the route {str(err)!r}")
                continue
            self.match = router.match  # type: ignore[method-assign]
            self._routers = [router]
            self._routes = None
            # e.g. "SmartRouter + RegExpRouter"
            self.name = f"SmartRouter + {router.name}"
            return res

        raise RuntimeError(
            "No router of this SmartRouter can serve its routes: "
            + ("; ".join(refusals) or "it was given no router")
        )
