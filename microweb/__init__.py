"""microweb: a Hono-style ASGI microframework with sessions, CSRF and auth guards."""

from .app import MicroWeb
from .compose import Middleware, middleware
from .context import Context
from .datastructures import FormData, Headers, UploadFile
from .exceptions import ForbiddenError, HTTPException, UnauthorizedError
from .request import Limits, Request
from .response import Response

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
    "UnauthorizedError",
    "UploadFile",
    "middleware",
]
