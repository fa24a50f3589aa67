"""microweb: a Hono-style ASGI microframework with sessions, CSRF and auth guards."""

from ._build import is_compiled as _is_compiled
from .app import MicroWeb
from .auth import login, logout, require_auth, require_role, user_sessions
from .compose import Middleware, create_middleware
from .context import Context
from .csrf_protection import csrf, csrf_field, csrf_token
from .datastructures import FormData, Headers, UploadFile
from .exceptions import ForbiddenError, HTTPException, UnauthorizedError
from .request import Limits, Request
from .response import Response
from .sessions import Session, session, session_of
from .sessions.typed import TypedSession
from .validation import validator
from .websockets import WebSocket, WebSocketDisconnect

# True when this install's request path is the mypyc-compiled build (its modules are C
# extensions), False for pure Python: see "The compiled build" in docs/deploy.md.
compiled: bool = _is_compiled()

__all__ = [
    "Context",
    "ForbiddenError",
    "FormData",
    "HTTPException",
    "Headers",
    "Limits",
    "MicroWeb",
    "Middleware",
    "Request",
    "Response",
    "Session",
    "TypedSession",
    "UnauthorizedError",
    "UploadFile",
    "WebSocket",
    "WebSocketDisconnect",
    "compiled",
    "create_middleware",
    "csrf",
    "csrf_field",
    "csrf_token",
    "login",
    "logout",
    "require_auth",
    "require_role",
    "session",
    "session_of",
    "user_sessions",
    "validator",
]
