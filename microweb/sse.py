"""Server-sent events: the body `c.sse(events)` streams.

Streaming is an async generator, which mypyc does not compile: this module stays
interpreted in the compiled build.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any


async def encode_events(events: AsyncIterable[Any]) -> AsyncIterator[str]:
    """Each event of `events` as the text/event-stream lines that carry it."""
    async for event in events:
        yield encode_event(event)


def encode_event(event: Any) -> str:
    """One server-sent event: a str is its data; a dict may set event, data, id and retry."""
    if isinstance(event, str):
        fields: Mapping[str, Any] = {"data": event}
    elif isinstance(event, Mapping):
        fields = event
    else:
        raise TypeError(f"SSE events must be str or dict, got {type(event).__name__}")
    lines: list[str] = []
    for key in ("event", "id", "retry"):
        if fields.get(key) is not None:
            value = str(fields[key])
            if "\n" in value or "\r" in value:
                raise ValueError(f"SSE field {key!r} must be one line")
            lines.append(f"{key}: {value}")
    data = fields.get("data")
    if data is not None:
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        lines.extend(f"data: {line}" for line in text.splitlines() or [""])
    return "\n".join(lines) + "\n\n"
