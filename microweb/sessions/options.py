"""`SessionOptions`: the options of `session()` and `SessionMiddleware`, checked once.

Rules:
- One frozen object holds every option of the Sessions table in the docs, with
  its type and default; `session()` and `ASGISessionMiddleware` build it from
  their keyword-only parameters, so a misspelt option is a `TypeError` naming
  the function called.
- Everything that can be checked without the backend is checked here, at
  start-up: a bad option is a `ValueError` whose message starts `session(): `
  and names the option. The store's own checks (a Redis prefix with `{`, a bad
  URL, a table name) run when the manager makes the store, and read the same.
- Durations: `lifetime` and `absolute_lifetime` in minutes (as the docs and
  Laravel say), everything else (`durable_timeout`, `sweep_every`) in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cookies import serialize_cookie
from .store import SessionStore

__all__ = ["DRIVERS", "SessionOptions", "configuration_error"]

DRIVERS = ("memory", "cookie", "file", "redis", "postgres", "sqlite")

SecretKeys = str | bytes | Sequence[str | bytes]


def configuration_error(message: str) -> ValueError:
    """The `ValueError` a bad session option raises, named as the middleware is."""
    return ValueError(f"session(): {message}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOptions:
    """The session options (see the Sessions table in the docs), checked on creation;
    `idle_s`, `absolute_s` and `keys` are derived from them."""

    driver: str | SessionStore = "memory"
    lifetime: float = 120
    absolute_lifetime: float | None = None
    expire_on_close: bool = False
    cookie: str = "microweb_session"
    path: str = "/"
    domain: str | None = None
    secure: bool = True
    http_only: bool = True
    same_site: str = "lax"
    secret: SecretKeys | None = None
    url: str | None = None
    client: Any = None
    directory: str = ".sessions"
    prefix: str = "microweb:session:"
    max_sessions: int = 100_000
    durable: bool = False
    durable_timeout: float = 1.0
    table: str = "microweb_sessions"
    create_tables: bool = True
    sweep_every: float = 300
    keys: tuple[str | bytes, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_minutes("lifetime", self.lifetime)
        if self.absolute_lifetime is not None:
            _check_minutes("absolute_lifetime", self.absolute_lifetime)
        _check_driver(self.driver)
        object.__setattr__(self, "keys", _secret_keys(self.secret))
        if self.driver == "cookie" and not self.keys:
            raise configuration_error("driver='cookie' requires secret=... to sign the cookie")
        if self.durable:
            if self.driver != "redis":
                raise configuration_error(
                    "durable=True needs driver='redis' (it waits for a Redis replica)"
                )
            if not _positive(self.durable_timeout):
                raise configuration_error(
                    "durable_timeout must be a positive number of seconds, "
                    f"got {self.durable_timeout!r}"
                )
        if not self.same_site:  # serialize_cookie would leave SameSite out
            raise configuration_error(
                "the session cookie needs a SameSite attribute: same_site must be 'lax', "
                f"'strict' or 'none', got {self.same_site!r}"
            )
        self.set_cookie("", max_age=0)  # the cookie's name and attributes

    @property
    def idle_s(self) -> float:
        """The idle lifetime in seconds."""
        return self.lifetime * 60.0

    @property
    def absolute_s(self) -> float | None:
        """The absolute lifetime in seconds, or None."""
        return None if self.absolute_lifetime is None else self.absolute_lifetime * 60.0

    def set_cookie(self, value: str, *, max_age: int | None) -> str:
        """The Set-Cookie value of the session cookie holding `value`."""
        try:
            return serialize_cookie(
                self.cookie,
                value,
                max_age=max_age,
                path=self.path,
                domain=self.domain,
                secure=self.secure,
                http_only=self.http_only,
                same_site=self.same_site,
            )
        except ValueError as err:
            raise configuration_error(str(err)) from None


def _positive(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0


def _check_minutes(name: str, value: object) -> None:
    if not _positive(value):
        raise configuration_error(f"{name} must be a positive number of minutes, got {value!r}")


def _check_driver(driver: object) -> None:
    if not isinstance(driver, SessionStore) and driver not in DRIVERS:
        raise configuration_error(
            f"unknown session driver {driver!r}; use one of {', '.join(DRIVERS)} "
            "or a SessionStore instance"
        )


def _secret_keys(secret: SecretKeys | None) -> tuple[str | bytes, ...]:
    if secret is None:
        return ()
    if isinstance(secret, str | bytes):
        keys: tuple[object, ...] = (secret,)
    else:
        keys = tuple(secret) if isinstance(secret, Sequence) else ()
    if not keys or not all(isinstance(k, str | bytes) and k for k in keys):
        raise configuration_error("secret must be a non-empty key or a list of keys, newest first")
    return keys  # type: ignore[return-value]  # checked just above
