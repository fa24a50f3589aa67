"""Helpers for the router tests (Hono's common.case.test.ts `match`)."""

from __future__ import annotations

from typing import Any

from microweb.router import Router, resolve_params


def match(router: Router[Any], method: str, path: str) -> list[tuple[Any, dict[str, str]]]:
    """[(handler, {param: value})] for a match, whichever result shape the router returns."""
    entries, stash = router.match(method, path)
    return [(handler, resolve_params(params, stash)) for handler, params in entries]


def handlers(router: Router[Any], method: str, path: str) -> list[Any]:
    return [handler for handler, _ in match(router, method, path)]
