"""Streamed bodies: how a Response sends a stream (stopping it when the client goes
away), and the events `c.sse(events)` streams.

Interpreted in the compiled build: mypyc compiles no async generator, and a compiled
coroutine let the cancellation of the stream's tasks escape when a client left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any

from .types import Receive, Send


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


async def send_stream(stream: AsyncIterable[bytes | str], send: Send, receive: Receive) -> None:
    """Send `stream`, stopping it when the client disconnects."""

    async def pump() -> None:
        async for chunk in stream:
            data = chunk.encode() if isinstance(chunk, str) else chunk
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def wait_disconnect() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    pump_task = asyncio.ensure_future(pump())
    watch_task = asyncio.ensure_future(wait_disconnect())
    try:
        done, _ = await asyncio.wait({pump_task, watch_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (pump_task, watch_task):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if pump_task in done:
        pump_task.result()  # re-raise an error of the stream itself
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
