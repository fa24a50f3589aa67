"""`CookieStore`: the whole record lives in the cookie, signed (not encrypted).

Rules:
- The cookie value is the record (with the session id under "__id") as
  itsdangerous `URLSafeSerializer` output: compact JSON, zlib-compressed when
  that is shorter, signed with the newest key; every key verifies.
- "__seen" in the signed record is the last activity (a float: fractional
  lifetimes work, which the 1-second timestamps of itsdangerous would not). A
  value idle too long, tampered with or malformed decodes to None.
- Data is readable by the client: keep secrets out of cookie sessions.
- Nothing is kept on the server, so there is nothing to load, save or
  destroy here, and other sessions of a user cannot be ended
  (`destroy_user` raises `NotImplementedError` saying why).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, ClassVar

from itsdangerous import BadSignature, URLSafeSerializer

from .store import Change, SessionStore

__all__ = ["CookieStore"]

_SALT = "microweb.session.cookie"
_SEEN = "__seen"


class CookieStore(SessionStore):
    """Keep sessions in a signed cookie; `secret_keys` newest first."""

    client_side: ClassVar[bool] = True

    def __init__(self, secret_keys: Sequence[str | bytes]) -> None:
        if not secret_keys:
            raise ValueError("The cookie session driver needs secret=...")
        # itsdangerous signs with the LAST key and verifies with all of them.
        keys = [k.encode() if isinstance(k, str) else k for k in reversed(secret_keys)]
        self._serializer = URLSafeSerializer(keys, salt=_SALT)

    def encode_cookie(self, record: dict[str, str]) -> str:
        return self._serializer.dumps({**record, _SEEN: repr(time.time())})

    def decode_cookie(self, value: str, idle_s: float) -> dict[str, str] | None:
        try:
            record = _as_record(self._serializer.loads(value))
            if record is None or time.time() - float(record.pop(_SEEN)) > idle_s:
                return None
        except (BadSignature, KeyError, ValueError, UnicodeError):
            return None
        return record

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        return None

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        return True

    async def destroy(self, sid: str) -> None:
        """Nothing to do: dropping the cookie is the manager's job."""

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        """Nothing to do: cookie sessions cannot be listed per user."""

    async def destroy_user(self, user_id: str) -> None:
        raise NotImplementedError(
            "The cookie session driver keeps each session in the user's browser, so the "
            "server cannot end a user's other sessions (logout everywhere); use the memory, "
            "file or redis driver for that"
        )


def _as_record(payload: Any) -> dict[str, str] | None:
    if not isinstance(payload, dict):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in payload.items()):
        return None
    return payload
