"""How the test client waits for an app: `next_message` (from the app, or its end, or
a timeout), `cancel_stuck`, and `await_chain` and `where_waiting`, which say where a
task is stuck, for the errors raised when something does not finish in time (a
lifespan hook, a WebSocket handler).

Rules: only public attributes are read (a coroutine's `cr_await` and `cr_frame`,
a generator's `gi_yieldfrom` and `gi_frame`, an async generator's `ag_await` and
`ag_frame`), nothing is changed, and the walk stops where the chain of awaits
cannot be followed (a Future, a Task awaited from another task, an async
generator's `asend`); the last frame reached is where the task waits. A coroutine
compiled by mypyc (microweb's compiled build) has neither a frame nor `cr_await`: what
it awaits is found among the objects it holds (`gc.get_referents`), a suspended
coroutine or another compiled one. Reading a suspended task from another thread is
safe: it only looks.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import linecache
import os
from types import FrameType
from typing import Any

from ..types import Message

__all__ = [
    "PACKAGE",
    "await_chain",
    "cancel_stuck",
    "describe_frame",
    "next_message",
    "where_waiting",
]

# microweb's own directory, with a trailing separator: the prefix of its files' paths.
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep

_LIMIT = 64


def await_chain(task: asyncio.Future[Any], skip: tuple[str, ...] = ()) -> list[FrameType]:
    """The frames of `task`'s coroutine and of what it awaits, outermost first, less the
    leading frames in files whose path starts with one of `skip` (an app's plumbing)."""
    frames: list[FrameType] = []
    current: object = task.get_coro() if isinstance(task, asyncio.Task) else None
    while current is not None and len(frames) < _LIMIT:
        frame = (
            getattr(current, "cr_frame", None)
            or getattr(current, "gi_frame", None)
            or getattr(current, "ag_frame", None)
        )
        if isinstance(frame, FrameType):
            frames.append(frame)
        awaited = (
            getattr(current, "cr_await", None)
            or getattr(current, "gi_yieldfrom", None)
            or getattr(current, "ag_await", None)
        )
        if awaited is None and frame is None:
            awaited = _awaited_by_compiled(current)
        current = awaited
    while len(frames) > 1 and frames[0].f_code.co_filename.startswith(skip):
        frames.pop(0)
    return frames


def _is_compiled_coroutine(obj: object) -> bool:
    return (
        hasattr(obj, "send")
        and hasattr(obj, "throw")
        and not hasattr(obj, "cr_frame")
        and not hasattr(obj, "gi_frame")
        and not hasattr(obj, "ag_frame")
        and not isinstance(obj, asyncio.Future)
    )


def _awaited_by_compiled(current: object) -> object | None:
    """What a compiled coroutine awaits, or None: a suspended coroutine it holds (itself,
    or through the iterator its `__await__` gave), or another compiled coroutine."""
    if not _is_compiled_coroutine(current):
        return None
    held: object
    for held in gc.get_referents(current):
        if type(held).__name__ == "coroutine_wrapper":  # a coroutine's __await__()
            inner = [h for h in gc.get_referents(held) if inspect.iscoroutine(h)]
            held = inner[0] if inner else held
        if inspect.iscoroutine(held):
            if inspect.getcoroutinestate(held) == inspect.CORO_SUSPENDED:
                return held
        elif _is_compiled_coroutine(held):
            return held
    return None


def describe_frame(frame: FrameType) -> str:
    """`name() at file:line: source line`, the file relative to the working directory."""
    code = frame.f_code
    filename = code.co_filename
    try:
        shown = os.path.relpath(filename)
    except ValueError:  # another drive, on Windows
        shown = filename
    if shown.startswith(".."):
        shown = filename
    line = linecache.getline(filename, frame.f_lineno).strip()
    where = f"{code.co_qualname}() at {shown}:{frame.f_lineno}"
    return f"{where}: {line}" if line else where


def where_waiting(frames: list[FrameType]) -> str:
    """The chain of `frames`, one a line, innermost (where it waits) last."""
    if not frames:
        return "    (no frame to show: the task is not suspended in a coroutine)"
    return "\n".join("    " + describe_frame(frame) for frame in frames)


async def next_message(
    queue: asyncio.Queue[Message], task: asyncio.Future[Any], wait: float
) -> Message | None:
    """The next message `task` (an app's call) puts in `queue`; None once the task has
    ended with nothing more queued; `TimeoutError` when neither happens in `wait` s."""
    if not queue.empty():
        return queue.get_nowait()
    if task.done():
        return None
    getter = asyncio.ensure_future(queue.get())
    try:
        either: set[asyncio.Future[Any]] = {getter, task}
        await asyncio.wait(either, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getter.done():
            getter.cancel()
    if getter.done() and not getter.cancelled():
        return getter.result()
    if task.done():
        return None
    raise TimeoutError


async def cancel_stuck(task: asyncio.Future[Any], skip: tuple[str, ...]) -> tuple[str, str]:
    """Cancel a `task` that did not finish in time, giving it a second to unwind, and say
    where it waited: `where_waiting`'s lines (taken before the cancel moves it) and the
    name of the outermost function shown (a hook's, say; "" when there is none)."""
    frames = await_chain(task, skip)
    where = where_waiting(frames)
    name = frames[0].f_code.co_qualname if frames else ""
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    return where, name
