"""Exceptions that turn into HTTP responses.

Raise `HTTPException` anywhere in a handler or middleware; the app answers with
its status, message and headers. The message is meant for the client: never put
secrets or tracebacks in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import Context

__all__ = ["ForbiddenError", "HTTPException", "UnauthorizedError"]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class HTTPException(Exception):
    """An error that answers with `status`, a plain-text `message` and extra `headers`."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"HTTPException status must be 4xx or 5xx, got {status}")
        self.status = status
        self.message = message if message is not None else _reason(status)
        self.headers: dict[str, str] = dict(headers) if headers else {}
        super().__init__(status, self.message)

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def answer(self, c: Context) -> Any:
        """The answer this error gives when no `on_error` handler answers it (a Response,
        or what a handler may return); None for the plain one: the status and message in
        the form the client accepts. A subclass with a body of its own overrides it."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class UnauthorizedError(HTTPException):
    """401: the request carries no (valid) credentials."""

    def __init__(
        self, message: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(401, message, headers)


class ForbiddenError(HTTPException):
    """403: the credentials are valid but not allowed here."""

    def __init__(
        self, message: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(403, message, headers)
