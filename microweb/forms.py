"""Multipart form parsing on top of python-multipart.

The whole body is already in memory (bounded by `Limits.max_body_size`), so
parts are collected into `str` fields and in-memory `UploadFile`s. Counts of
fields and files are bounded too. A broken body is a 400 that says what is
wrong, never a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .datastructures import FormData, FormValue, UploadFile
from .exceptions import HTTPException

if TYPE_CHECKING:
    from .limits import Limits

__all__ = ["parse_multipart"]


class _Collector:
    """Receives python-multipart's callbacks and builds the list of form items."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.items: list[tuple[str, FormValue]] = []
        self.fields = 0
        self.files = 0
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[str, str] = {}
        self.data: list[bytes] = []

    def on_part_begin(self) -> None:
        self.headers = {}
        self.data = []

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_field.decode("latin-1").lower()
        self.headers[name] = self.header_value.decode("latin-1")
        self.header_field = self.header_value = b""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.data.append(data[start:end])

    def on_part_end(self) -> None:
        disposition = self.headers.get("content-disposition")
        if disposition is None:
            raise HTTPException(400, "Multipart part has no Content-Disposition header")
        kind, options = parse_options_header(disposition)
        if kind != b"form-data" or b"name" not in options:
            raise HTTPException(400, "Multipart part is not a named form-data field")
        try:
            name = options[b"name"].decode("utf-8")
            filename = options[b"filename"].decode("utf-8") if b"filename" in options else None
        except UnicodeDecodeError:
            raise HTTPException(400, "Multipart field name is not valid UTF-8") from None
        payload = b"".join(self.data)
        if filename is not None:
            self.files += 1
            if self.files > self.limits.max_form_files:
                most = self.limits.max_form_files
                raise HTTPException(413, f"Form has more than {most} file{'s' * (most != 1)}")
            content_type = self.headers.get("content-type", "application/octet-stream")
            self.items.append((name, UploadFile(filename, payload, content_type, self.headers)))
            return
        self.fields += 1
        if self.fields > self.limits.max_form_fields:
            raise HTTPException(413, f"Form has more than {self.limits.max_form_fields} fields")
        try:
            self.items.append((name, payload.decode("utf-8")))
        except UnicodeDecodeError:
            raise HTTPException(400, f"Form field {name!r} is not valid UTF-8") from None


def parse_multipart(content_type: str, body: bytes, limits: Limits) -> FormData:
    """Parse a multipart/form-data `body` whose Content-Type header is `content_type`."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise HTTPException(400, "Multipart Content-Type has no boundary")
    if len(boundary) > 70:
        # RFC 2046 5.1.1 allows 1 to 70 characters; python-multipart refuses long ones from
        # its constructor, outside the parse errors caught below.
        raise HTTPException(400, "Multipart boundary is longer than 70 characters")
    collector = _Collector(limits)
    callbacks = {
        "on_part_begin": collector.on_part_begin,
        "on_part_data": collector.on_part_data,
        "on_part_end": collector.on_part_end,
        "on_header_field": collector.on_header_field,
        "on_header_value": collector.on_header_value,
        "on_header_end": collector.on_header_end,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise HTTPException(400, f"Malformed multipart body: {exc}") from None
    if not collector.items and body.strip():
        # python-multipart accepts a body that never reaches its closing boundary.
        raise HTTPException(400, "Malformed multipart body: no complete part")
    return FormData(collector.items)
