"""`TestResponse`: what an in-process request answers.

The whole body is collected before the response is returned (a stream
included), so `content`, `text` and `json()` are plain reads.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

from ..datastructures import Headers
from .cookies import parse_set_cookie

__all__ = ["TestResponse"]


class TestResponse:
    """What a test request returns: `status_code`, `headers`, `content`, `text`, `json()`."""

    __test__ = False

    def __init__(self, status_code: int, headers: Headers, content: bytes, url: str) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.url = url

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this response sets (name -> value; an empty value deletes)."""
        cookies: dict[str, str] = {}
        for header in self.headers.getall("set-cookie"):
            cookie = parse_set_cookie(header, "testserver")
            if cookie is not None:
                cookies[cookie.name] = cookie.value
        return cookies

    @property
    def is_redirect(self) -> bool:
        return self.status_code in (301, 302, 303, 307, 308) and "location" in self.headers

    def __repr__(self) -> str:
        return f"<TestResponse [{self.status_code}]>"
