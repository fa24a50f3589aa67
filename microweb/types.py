"""ASGI type aliases shared by every module, as in the ASGI 3 specification."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    # The type of `Context[V]`'s variables. A bare `Context` is `Context[Any]`:
    # typing_extensions (which mypy has) gives the TypeVar its default; at run time the
    # parameter only names a type. (Here, in an interpreted module: in a compiled one,
    # mypyc would take the run-time branch for unreachable.)
    V = TypeVar("V", default=Any)
else:
    from typing import TypeVar

    V = TypeVar("V")
