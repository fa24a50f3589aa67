"""Data the peer apps share, so every framework serves the same bytes.

- ``USERS``: 107 users, about 20 KB as compact JSON (the gzip row's body).
- ``PAGE_USERS``: the first 20 of them, rendered by the template row.
- ``STATIC_DIR`` / ``TEMPLATE_DIR``: the 10 KB file of the static row, the template of the
  template row.
- ``ORIGIN``: the Origin the API-stack row sends, allowed by every app's CORS set-up.
- ``SECURE_HEADERS``: Hono's default security headers, for the peers that have no
  middleware of their own for them.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

USERS = [
    {
        "id": i,
        "name": f"User number {i}",
        "email": f"user{i}@example.com",
        "tags": ["reader", "writer", f"group-{i % 7}"],
        "bio": f"User {i} writes about routing, sessions and middleware.",
        "active": i % 3 != 0,
        "score": round(i * 1.37, 2),
    }
    for i in range(107)
]
PAGE_USERS = USERS[:20]
STATIC_DIR = _HERE / "static"
TEMPLATE_DIR = _HERE / "templates"
ORIGIN = "https://app.example"
SECURE_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"origin-agent-cluster", b"?1"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=15552000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-dns-prefetch-control", b"off"),
    (b"x-download-options", b"noopen"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-permitted-cross-domain-policies", b"none"),
    (b"x-xss-protection", b"0"),
]
