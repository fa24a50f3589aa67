"""The built-in middleware: Hono's box, in snake_case.

Each name is a factory returning middleware usable with `app.use(...)`,
`app.use(path, ...)` and per route. Options are checked when the factory is
called: a contradictory or malformed option raises ValueError at start-up,
never at request time. Optional libraries (PyJWT, brotli, zstd, redis) are
imported only by the factory that needs them.
"""

from ._basic_auth import basic_auth
from ._bearer_auth import bearer_auth
from ._body_limit import body_limit
from ._compress import compress
from ._context_storage import context_storage, get_context
from ._cors import cors
from ._etag import etag
from ._https_redirect import https_redirect
from ._ip_restriction import ip_restriction
from ._jwt import jwt
from ._logger import logger
from ._pretty_json import pretty_json
from ._rate_limit import rate_limit
from ._request_id import RequestIdFilter, request_id
from ._secure_headers import NONCE, csp_nonce, secure_headers
from ._timeout import timeout
from ._timing import end_time, set_metric, start_time, timer, timing
from ._trailing_slash import trailing_slash
from ._trusted_host import trusted_host
from .combine import every, some, unless

__all__ = [
    "NONCE",
    "RequestIdFilter",
    "basic_auth",
    "bearer_auth",
    "body_limit",
    "compress",
    "context_storage",
    "cors",
    "csp_nonce",
    "end_time",
    "etag",
    "every",
    "get_context",
    "https_redirect",
    "ip_restriction",
    "jwt",
    "logger",
    "pretty_json",
    "rate_limit",
    "request_id",
    "secure_headers",
    "set_metric",
    "some",
    "start_time",
    "timeout",
    "timer",
    "timing",
    "trailing_slash",
    "trusted_host",
    "unless",
]
