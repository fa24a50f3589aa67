"""`request_id()`: one id per request, on the response and on every log record.

Rules:
- A well-formed incoming id (`[A-Za-z0-9_=-]`, 1 to `limit` characters) is
  reused, so an id set by a proxy or a calling service follows the request;
  anything else is replaced by a fresh one (`generator()`, else 32 hex chars).
- The id is `c.get("request_id")`, the response header, and the contextvar
  `current_request_id`, which plain `def` handlers run in threads see too.
- Every log record made while the request runs carries `record.request_id`
  (`"-"` outside a request): the first `request_id()` call installs a log
  record factory for that, so `%(request_id)s` works in any format string.
  `RequestIdFilter` does the same for one handler or logger, for apps that
  configure logging themselves.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..http_rules import is_token
from ._options import count

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["RequestIdFilter", "current_request_id", "request_id"]

current_request_id: Final[contextvars.ContextVar[str]] = contextvars.ContextVar(
    "microweb_request_id", default="-"
)
_VALID: Final = re.compile(r"[A-Za-z0-9_=-]+")
_installed = False


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on each record as `request_id` (and lets it pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def _install_record_factory() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    logging.setLogRecordFactory(factory)


def request_id(
    header: str = "X-Request-Id",
    generator: Callable[[], str | Awaitable[str]] | None = None,
    limit: int = 255,
) -> MiddlewareFunction:
    """Request id middleware.

    Options:
    - `header` (str, default `"X-Request-Id"`): the request and response header.
    - `generator` (callable | None, default None): `generator()` (plain or async) makes
      a new id; 32 hex characters (a uuid4) otherwise.
    - `limit` (int characters, default 255): the longest incoming id reused.
    """
    count(limit, "request_id()", "limit", "characters", least=1)
    if not header or not is_token(header):
        raise ValueError(f"request_id(): {header!r} is not a header name")
    _install_record_factory()

    @create_middleware
    async def request_id_middleware(c: Context, next: Next) -> None:
        incoming = c.req.header(header)
        if incoming and len(incoming) <= limit and _VALID.fullmatch(incoming):
            value = incoming
        elif generator is None:
            value = uuid.uuid4().hex
        else:
            value = await awaited(generator())
        c.set("request_id", value)
        token = current_request_id.set(value)
        try:
            await next()
        finally:
            current_request_id.reset(token)
        if c.res is not None:
            c.res.headers[header] = value

    return request_id_middleware
