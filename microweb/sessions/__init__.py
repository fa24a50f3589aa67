"""Sessions: `session()` middleware for microweb, `SessionMiddleware` for any
ASGI app, the `Session` they provide and the `SessionStore` interface."""

from .middleware import SessionMiddleware, session
from .session_view import Session, SessionUnavailable, session_of
from .store import SessionStore

__all__ = [
    "Session",
    "SessionMiddleware",
    "SessionStore",
    "SessionUnavailable",
    "session",
    "session_of",
]
