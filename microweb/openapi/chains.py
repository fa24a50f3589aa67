"""What runs before each handler: the middleware a request to the handler's route passes.

Rules:
- The answer comes from a router of its own holding every route of the app (the app's
  router is left alone: its first match may freeze it), asked for a sample path of the
  route with the route's method: the middleware that matches before the handler is
  what runs before it, `app.use(path, ...)` guards, method-only registrations and the
  route's own `validator(...)`s and guards alike.
- A route without a sample path (a pattern no sample fits) is given its own middleware
  and the `app.use` middleware registered on every path (`*`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..compose import Route
from ..router import METHOD_ALL
from ..router.trie import TrieRouter

__all__ = ["Chains"]


class Chains:
    """The middleware before each handler of a set of routes."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self.router: TrieRouter[Route] = TrieRouter()
        for route in self.routes:
            self.router.add(route.method, route.path, route)
        self.everywhere = [
            r.fn
            for r in self.routes
            if not r.is_handler and r.path in ("*", "/*") and r.method == METHOD_ALL
        ]

    def before(self, handler: Route, method: str, sample: str | None) -> list[Callable[..., Any]]:
        """The middleware functions that run before `handler` on a `method` request to
        `sample`, in order."""
        if sample is not None:
            matched, _ = self.router.match(method, sample)
            chain: list[Callable[..., Any]] = []
            for route, _params in matched:
                if route is handler:
                    return chain
                if not route.is_handler:
                    chain.append(route.fn)
        return [*self.everywhere, *handler.middleware]
