"""`timeout()`: cancel a handler that runs too long, and answer 504.

Rules:
- The rest of the chain runs in a task; after `seconds` it is cancelled
  (CancelledError is raised inside the handler at its current `await`, so its
  `finally` blocks run and it does not go on in the background, unlike Hono's)
  and the client gets `status` (504 by default).
- A plain `def` handler runs in a thread, which Python cannot interrupt: the
  client still gets the 504 on time, but the thread finishes its call.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, create_middleware
from ..exceptions import HTTPException
from ._options import duration, error_status

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["timeout"]


def timeout(seconds: float, status: int = 504) -> MiddlewareFunction:
    """Timeout middleware.

    Options:
    - `seconds` (float seconds, required): how long the handler may take.
    - `status` (int, default 504): the error status the client gets then.
    """
    duration(seconds, "timeout()", "seconds")
    error_status(status, "timeout()")

    @create_middleware
    async def timeout_middleware(c: Context, next: Next) -> None:
        try:
            async with asyncio.timeout(seconds):
                await next()
        except TimeoutError:
            raise HTTPException(status, f"The request took longer than {seconds:g} s") from None

    return timeout_middleware
