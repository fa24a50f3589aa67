"""The `microweb.csrf_token` scope extension: how `TestClient.csrf_token()` asks the
app for its session's CSRF token, as a user sees the app (through a request),
whatever the session driver, the cookie driver included.

Rules:
- The test client puts `{"microweb.csrf_token": {}}` in a GET request's
  `scope["extensions"]`. Only the server (here, the test client) writes scope
  extensions: no HTTP client can send this one, so it gives nothing away.
- The session middleware that sees it loads (or starts) the session, writes
  `session.token()` into that dict under "token", answers 204 without running
  the rest of the chain, and commits the session as for any request, so a new
  session's cookie comes back to the client.
"""

from __future__ import annotations

from typing import Any

from ..types import Scope

__all__ = ["CSRF_TOKEN_PROBE", "csrf_token_probe"]

CSRF_TOKEN_PROBE = "microweb.csrf_token"  # noqa: S105 - an extension's name, not a secret


def csrf_token_probe(scope: Scope) -> dict[str, Any] | None:
    """The dict to write the session's CSRF token into, when the request asks for it."""
    extensions = scope.get("extensions")
    if extensions:
        probe = extensions.get(CSRF_TOKEN_PROBE)
        if isinstance(probe, dict):
            return probe
    return None
