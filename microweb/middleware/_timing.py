"""`timing()` and `timer()`: Server-Timing metrics (W3C Server Timing).

Rules:
- `with timer(c, "db", "query"):` (or `start_time(c, "db")` ...
  `end_time(c, "db")`) records a metric; `set_metric(c, name, value)` records
  a ready value. On the way out the middleware writes them, with `total`
  (the time spent inside the middleware) last, as one `Server-Timing` header.
- `enabled` may be `callable(c) -> bool`, plain or async: timings can reveal what the server
  does, so production apps often send them to some clients only.
- Without the middleware (or when disabled) the timer calls record nothing.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from ..compose import MiddlewareFunction, Next, awaited, create_middleware
from ..http_rules import is_token

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["end_time", "set_metric", "start_time", "timer", "timing"]

_METRICS = "_server_timing"


class _Metrics:
    __slots__ = ("started", "values")

    def __init__(self) -> None:
        self.values: dict[str, tuple[float | None, str | None]] = {}
        self.started: dict[str, float] = {}


def _metrics(c: Context) -> _Metrics | None:
    metrics = c.get(_METRICS)
    return metrics if isinstance(metrics, _Metrics) else None


def set_metric(
    c: Context, name: str, value: float | None = None, description: str | None = None
) -> None:
    """Record metric `name` (a duration in ms, or None for a bare marker)."""
    if not is_token(name):
        raise ValueError(f"Server-Timing metric names are tokens, got {name!r}")
    metrics = _metrics(c)
    if metrics is not None:
        if description is not None:
            description = " ".join(description.split())  # no CR/LF in a header
        metrics.values[name] = (value, description)


def start_time(c: Context, name: str, description: str | None = None) -> None:
    """Start timing `name`."""
    metrics = _metrics(c)
    if metrics is not None:
        metrics.started[name] = time.perf_counter()
        set_metric(c, name, None, description)


def end_time(c: Context, name: str) -> None:
    """Stop timing `name` (started with `start_time`)."""
    metrics = _metrics(c)
    if metrics is None or name not in metrics.started:
        return
    elapsed = (time.perf_counter() - metrics.started.pop(name)) * 1000
    description = metrics.values.get(name, (None, None))[1]
    metrics.values[name] = (elapsed, description)


@contextlib.contextmanager
def timer(c: Context, name: str, description: str | None = None) -> Iterator[None]:
    """`with timer(c, "db", "query"):` times the block as metric `name`."""
    start_time(c, name, description)
    try:
        yield
    finally:
        end_time(c, name)


def timing(
    enabled: bool | Callable[[Context], bool | Awaitable[bool]] = True,
    total: bool = True,
    total_description: str = "Total Response Time",
) -> MiddlewareFunction:
    """Server-Timing middleware.

    Options:
    - `enabled` (bool | callable, default True): whether to send the header;
      `enabled(c) -> bool` (plain or async) decides per request.
    - `total` (bool, default True): add a `total` metric, the time spent inside the
      middleware.
    - `total_description` (str, default `"Total Response Time"`): that metric's `desc`.
    """

    @create_middleware
    async def timing_middleware(c: Context, next: Next) -> None:
        on = await awaited(enabled(c)) if callable(enabled) else enabled
        if not on:
            await next()
            return
        metrics = _Metrics()
        c.set(_METRICS, metrics)
        started = time.perf_counter()
        await next()
        if total:
            metrics.values["total"] = ((time.perf_counter() - started) * 1000, total_description)
        if c.res is None or not metrics.values:
            return
        parts = []
        for name, (value, description) in metrics.values.items():
            part = name
            if value is not None:
                part += f";dur={value:.1f}"
            if description:
                escaped = description.replace("\\", "\\\\").replace('"', '\\"')
                part += f';desc="{escaped}"'
            parts.append(part)
        c.res.headers.append("server-timing", ", ".join(parts))

    return timing_middleware
