"""`Lifespan`: an app's ASGI lifespan, run by the test client around its `with` block.

Rules:
- Startup and shutdown each finish within `timeout` seconds or fail loudly: a
  `TimeoutError` naming the hook still running and where it waits (its chain
  of awaits, innermost last), never a hang. The stuck lifespan is cancelled.
- `lifespan.startup.failed` / `lifespan.shutdown.failed` raise `RuntimeError`
  with the app's message.
- An app that raises before answering startup does not support the lifespan
  (the ASGI specification's rule): the client goes on without it, as servers do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..types import ASGIApp, Message
from .waiting import PACKAGE, cancel_stuck, next_message

__all__ = ["Lifespan"]

# The app's own ASGI plumbing, left out of the chain so that the first frame shown is the hook.
_PLUMBING = (PACKAGE + "app.py",)


class Lifespan:
    """One run of an app's lifespan on the client's loop: `await start()`, `await stop()`."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self.state: dict[str, Any] = {}
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Future[None] | None = None
        self._supported = True

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._answer("startup")
        if message is None:
            self._supported = False
        elif message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"App startup failed: {message.get('message', '')}")

    async def stop(self) -> None:
        if not self._supported or self._task is None:
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        message = await self._answer("shutdown")
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(f"App shutdown failed: {message.get('message', '')}")
        await self._finish("shutdown")

    async def _answer(self, phase: str) -> Message | None:
        """The app's answer to `phase`; None when it returned without one."""
        assert self._task is not None
        try:
            answer = await next_message(self._from_app, self._task, self.timeout)
        except TimeoutError:
            raise await self._timed_out(phase) from None
        if answer is None and phase == "startup":
            self._task.exception()  # retrieved: the app simply has no lifespan
        elif answer is None:
            self._task.result()  # an error raised during shutdown reaches the test
        return answer

    async def _finish(self, phase: str) -> None:
        """Wait for the app's lifespan call to return, as after shutdown."""
        assert self._task is not None
        await asyncio.wait({self._task}, timeout=self.timeout)
        if not self._task.done():
            raise await self._timed_out(phase)
        self._task.result()

    async def _timed_out(self, phase: str) -> TimeoutError:
        """A TimeoutError naming the hook that did not finish; the lifespan is cancelled."""
        assert self._task is not None
        where, name = await cancel_stuck(self._task, skip=_PLUMBING)
        hook = f"the {phase} hook {name}()" if name else "the app"
        return TimeoutError(
            f"App {phase} did not finish within {self.timeout:g} s: {hook} is still running, "
            f"waiting at (innermost last):\n{where}"
        )
