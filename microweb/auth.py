"""Login, logout and the auth guards, on top of the session.

Rules:
- `login` always gives the session a new id first (fixation defence: the id
  an attacker may have planted before login is dead afterwards), then stores
  the user and role, rotates the CSRF token and indexes the session under the
  user so `logout(c, everywhere=True)` can find it. The user id names the
  user's index in the store, so it must have a UTF-8 form: one holding a lone
  surrogate is a `ValueError` before anything changes, on every driver.
- What a session holds before login is kept when it was anonymous (a cart
  survives signing in) or signed in as the same user; a session signed in as
  someone else starts empty (Django's rule): one user's data never reaches
  another's session.
- Guards answer 401 when nobody is logged in and 403 for a wrong role, in the
  form the client accepts (JSON, HTML or text). `require_auth(redirect_to=...)`
  sends browsers to the login page instead and remembers where they were
  going; `intended(c)` reads that back, and only ever returns a local path,
  so it can never become an open redirect.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .compose import Middleware, Next
from .describe import SESSION, Description, describe
from .exceptions import ForbiddenError, UnauthorizedError
from .http_rules import prefers_html
from .sessions import session_of
from .sessions.store import CREATED, REF, SEEN, USER, USER_AGENT

if TYPE_CHECKING:
    from .context import Context
    from .sessions import Session

__all__ = [
    "intended",
    "login",
    "logout",
    "require_auth",
    "require_role",
    "safe_next_path",
    "user_sessions",
]

USER_KEY = "user_id"
ROLE_KEY = "role"
INTENDED_KEY = "_intended"


async def login(
    c: Context,
    user_id: str | int,
    role: str | None = None,
    *,
    user_key: str = USER_KEY,
    role_key: str = ROLE_KEY,
) -> None:
    """Log `user_id` in: new session id, user and role stored, CSRF token rotated.
    The session's data is kept, unless it was signed in as another user: then it
    starts empty."""
    session = session_of(c)
    try:
        str(user_id).encode()
    except UnicodeEncodeError:
        raise ValueError(
            f"login(): the user id {user_id!r} holds a lone surrogate, which no session store "
            "can index"
        ) from None
    if _signed_in_as_another(session, str(user_id), user_key):
        await session.invalidate()  # the other user's record goes, with all it held
        session.regenerate_token()
    else:
        await session.regenerate()
    session.put(user_key, user_id)
    if role is None:
        session.forget(role_key)
    else:
        session.put(role_key, role)
    await session.index_user(str(user_id), c.req.header("user-agent"))


def _signed_in_as_another(session: Session, user_id: str, user_key: str) -> bool:
    """True when `session` belongs to a user other than `user_id`: by its user key, or
    by the user it is indexed under (which outlives a user key the app removed)."""
    current = session.get(user_key)
    indexed = session.state.record.meta.get(USER)
    return any(who is not None and str(who) != user_id for who in (current, indexed))


async def logout(
    c: Context,
    everywhere: bool = False,
    *,
    session: str | None = None,
    user_key: str = USER_KEY,
) -> None:
    """End this session; with `everywhere`, every other session of the same user too;
    with `session=ref` (a `ref` from `user_sessions`), only that one session of the
    signed-in user (a ref that is not theirs ends nothing).

    `everywhere=True` and `session=` need a driver that keeps sessions on the server
    (memory, file, redis, postgres, sqlite); the cookie driver cannot revoke cookies it
    handed out and raises `NotImplementedError` saying so, before anything is changed.
    """
    current = session_of(c)
    user_id = current.get(user_key)
    if session is not None:
        if everywhere:
            raise ValueError("logout(): pass everywhere=True or session=ref, not both")
        if user_id is None:
            return
        if _is_ref_of(current, session):
            await current.invalidate()
            return
        # Bytes: compare_digest refuses a str that is not ASCII (a ref from a form may be
        # anything); a lone surrogate has no UTF-8 form, "surrogatepass" gives it one.
        wanted = session.encode("utf-8", "surrogatepass")
        for sid, record in await current.manager.user_sessions(str(user_id)):
            if hmac.compare_digest(record.get(REF, "").encode(), wanted):
                await current.manager.end(sid)
                return
        return
    if everywhere and user_id is not None:
        await current.destroy_user(str(user_id))
    await current.invalidate()


async def user_sessions(c: Context, *, user_key: str = USER_KEY) -> list[dict[str, Any]]:
    """The signed-in user's live sessions, newest first: each a dict with `ref` (an
    opaque handle for `logout(c, session=ref)`, never the session id), `created_at`,
    `last_seen` (UTC datetimes; last seen to the minute), `user_agent` and `current`.
    Empty when nobody is signed in; `NotImplementedError` on the cookie driver."""
    current = session_of(c)
    user_id = current.get(user_key)
    if user_id is None:
        return []
    listed = []
    for sid, record in await current.manager.user_sessions(str(user_id)):
        created = _when(record.get(CREATED))
        seen = _when(record.get(SEEN))
        listed.append(
            {
                "ref": record.get(REF, ""),
                "created_at": created,
                "last_seen": max(seen, created) if seen and created else seen or created,
                "user_agent": record.get(USER_AGENT),
                "current": sid == current.id or _is_ref_of(current, record.get(REF, "")),
            }
        )
    epoch = datetime.fromtimestamp(0, UTC)
    listed.sort(key=lambda item: item["created_at"] or epoch, reverse=True)
    return listed


def _is_ref_of(session: Session, ref: str) -> bool:
    """True when `ref` is the handle of `session` itself. (A store that keeps ids hashed
    lists sessions by a handle of its own, not by id: the ref tells which one is this.)"""
    mine = session.state.record.meta.get(REF, "")
    return bool(mine) and hmac.compare_digest(mine.encode(), ref.encode("utf-8", "surrogatepass"))


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC) if value else None
    except (ValueError, OverflowError):
        return None


def safe_next_path(target: Any, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not isinstance(target, str) or not target.startswith("/"):
        return default
    if target.startswith(("//", "/\\")) or any(ch in target for ch in "\r\n\t\\"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def intended(c: Context, default: str = "/") -> str:
    """Where the user was going before `require_auth` sent them to log in (then forgotten)."""
    return safe_next_path(session_of(c).pull(INTENDED_KEY), default)


def _accepts_html(c: Context) -> bool:
    return prefers_html(c.req.header("accept"))


class require_auth(Middleware):  # lower case: called like a function, per the contract
    """Let the request through only when a user is logged in (else 401 or a redirect)."""

    def __init__(self, redirect_to: str | None = None, *, user_key: str = USER_KEY) -> None:
        self.redirect_to = redirect_to
        self.user_key = user_key
        responses = {401: "Nobody is signed in"}
        if redirect_to is not None:
            responses[302] = "A browser (Accept: text/html) is sent to sign in"
        describe(self, Description(security=((SESSION,),), responses=responses))

    async def __call__(self, c: Context, next: Next) -> Any:
        session = session_of(c)
        if session.get(self.user_key) is None:
            if self.redirect_to is not None and _accepts_html(c):
                if c.req.method in ("GET", "HEAD"):
                    query = c.req.scope.get("query_string", b"").decode("latin-1")
                    session.put(INTENDED_KEY, c.req.path + (f"?{query}" if query else ""))
                return c.redirect(self.redirect_to)
            raise UnauthorizedError("Authentication required")
        await next()
        return None


class require_role(Middleware):  # lower case: called like a function, per the contract
    """Let the request through only for a logged-in user with one of `roles` (401/403)."""

    def __init__(self, *roles: str, user_key: str = USER_KEY, role_key: str = ROLE_KEY) -> None:
        if not roles:
            raise ValueError("require_role() needs at least one role")
        self.roles = frozenset(roles)
        self.user_key = user_key
        self.role_key = role_key
        describe(
            self,
            Description(
                security=((SESSION,),),
                responses={
                    401: "Nobody is signed in",
                    403: f"The user's role is not {' or '.join(sorted(roles))}",
                },
            ),
        )

    async def __call__(self, c: Context, next: Next) -> Any:
        session = session_of(c)
        if session.get(self.user_key) is None:
            raise UnauthorizedError("Authentication required")
        if session.get(self.role_key) not in self.roles:
            raise ForbiddenError("You do not have permission to access this resource")
        await next()
        return None
