"""`context_storage()` and `get_context()`: the current `c` from anywhere in a request.

Rules:
- The context lives in a contextvar set for the rest of the chain, so code
  the handler calls (plain `def` handlers in threads included: they run in a
  copy of the request's contextvars) finds it without passing `c` around.
- Outside a request, or without the middleware, `get_context()` raises a
  RuntimeError that says so.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["context_storage", "get_context"]

_current: contextvars.ContextVar[Context] = contextvars.ContextVar("microweb_context")


def get_context() -> Context:
    """The context of the request being handled."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError(
            "get_context() found no request: call it while a request runs, with "
            "app.use(context_storage()) registered"
        ) from None


def context_storage() -> MiddlewareFunction:
    """Context storage middleware: `get_context()` returns the request's `c` anywhere it
    runs. No options."""

    @create_middleware
    async def context_storage_middleware(c: Context, next: Next) -> None:
        token = _current.set(c)
        try:
            await next()
        finally:
            _current.reset(token)

    return context_storage_middleware
