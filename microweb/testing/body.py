"""Encode a test request's body: JSON, an urlencoded form, multipart, or raw content.

Rules: the first of `json`, `form`, `content` given wins; the Content-Type
goes into the request's headers unless the caller set one; a form with a file
(a `(filename, data[, content_type])` tuple) is multipart, any other form is
urlencoded; a list value sends the field once per item.
"""

from __future__ import annotations

import json as jsonlib
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

__all__ = ["encode_body"]


def encode_body(
    headers: dict[str, str],
    json: Any = None,
    form: Mapping[str, Any] | None = None,
    content: bytes | str | None = None,
) -> bytes:
    """Encode a request body and set its Content-Type in `headers` (lower-case keys)."""
    if json is not None:
        headers.setdefault("content-type", "application/json")
        return jsonlib.dumps(json).encode()
    if form is not None:
        files = any(isinstance(v, tuple) for _, v in _form_items(form))
        if not files:
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
            return urlencode(list(_form_items(form))).encode()
        boundary = secrets.token_hex(16)
        headers.setdefault("content-type", f"multipart/form-data; boundary={boundary}")
        return _multipart(form, boundary)
    if isinstance(content, str):
        return content.encode()
    return content or b""


def _form_items(form: Mapping[str, Any]) -> list[tuple[str, Any]]:
    items = []
    for key, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            items.append((key, one))
    return items


def _multipart(form: Mapping[str, Any], boundary: str) -> bytes:
    out = bytearray()
    for name, value in _form_items(form):
        out += f"--{boundary}\r\n".encode()
        if isinstance(value, tuple):
            filename, data, *rest = value
            content_type = rest[0] if rest else "application/octet-stream"
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            out += data if isinstance(data, bytes) else str(data).encode()
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            out += str(value).encode()
        out += b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)
