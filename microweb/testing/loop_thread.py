"""`LoopThread`: the event loop the synchronous `TestClient` runs an app on.

Rules:
- One loop in one daemon thread per client, so what an app opens at startup
  (connection pools, locks, tasks) stays valid across requests and sockets.
- `run(coro, timeout)` blocks the calling thread until `coro` is done; with a
  timeout, a loop that does not answer in time (something in the app blocks
  it) is a `TimeoutError` saying so, never a hang.
- `close()` cancels what the app left running and waits for it to finish, and
  stops the default executor's threads (as `asyncio.run` does), so no task is
  destroyed while pending and no thread outlives the client; then it stops the loop.
  It is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="microweb-testclient", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coro` on the loop and return its result (or raise its exception)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done():
                raise  # the coroutine's own TimeoutError
            future.cancel()
            raise TimeoutError(
                f"The app's event loop did not answer within {timeout:g} s: something in the "
                "app blocks it (a blocking call, such as time.sleep(), in an async function?)"
            ) from None

    def close(self) -> None:
        """Cancel what the app left running, then stop the loop."""
        if self.loop.is_closed():
            return
        if threading.current_thread() is self.thread:
            # Called from the loop itself (a client collected there): it cannot wait for
            # itself, so it stops once the cancelled tasks have finished.
            task = self.loop.create_task(_wind_down())
            task.add_done_callback(lambda _: self.loop.stop())
            return
        if self.thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(_wind_down(), self.loop)
            with contextlib.suppress(Exception):
                done.result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


async def _wind_down() -> None:
    """Cancel every task of this loop but the caller and wait for them to finish, then
    stop the threads of the loop's default executor (plain `def` handlers ran there)."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.get_running_loop().shutdown_default_executor()
