"""The example app `make run` serves: login, flash messages, guards, a chat and a JSON API.

Pages are Jinja templates (examples/templates) styled by a stylesheet that
`serve_static` serves from examples/static, under a strict Content Security
Policy: only the app's own files, and inline scripts only with this request's
nonce. Memory sessions by default; `SESSION_DRIVER=redis` (with `REDIS_URL`)
keeps them in Redis so several workers share them, and the chat room then
relays messages between workers through Redis pub/sub. `SESSION_DRIVER=postgres`
keeps them in PostgreSQL at `DATABASE_URL`, `SESSION_DRIVER=sqlite` in the SQLite
file of `SQLITE_URL` (default sqlite:///sessions.db), in the table
`SESSION_TABLE` (default microweb_sessions) made at startup. Users: alice /
wonderland (admin) and bob / builder. `LOGIN_RATE_LIMIT` (default 5/minute)
bounds login attempts per client address. The JSON API is documented at
/openapi.json, with a Swagger UI page at /docs (the `microweb[docs]` extra).

    uvicorn examples.app:app --port 8000
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from examples.chat import Chat
from microweb import (
    HTTPException,
    MicroWeb,
    Response,
    csrf,
    login,
    logout,
    require_auth,
    require_role,
    session,
    user_sessions,
    validator,
)
from microweb.auth import intended
from microweb.context import Context
from microweb.csrf_protection import csrf_token
from microweb.middleware import NONCE, rate_limit, secure_headers
from microweb.openapi import openapi_routes
from microweb.sessions import Session
from microweb.static import serve_static
from microweb.templates import jinja
from microweb.websockets import WebSocket

HERE = Path(__file__).resolve().parent
_SALT = b"microweb-example"


def _hash(password: str) -> bytes:
    # "surrogatepass": a JSON body may carry a lone surrogate ("\udc00"), which has no
    # UTF-8 form; it hashes like any other wrong password instead of raising.
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), _SALT, 100_000)


USERS: dict[str, dict[str, Any]] = {
    "alice": {"password": _hash("wonderland"), "role": "admin", "name": "Alice"},
    "bob": {"password": _hash("builder"), "role": "user", "name": "Bob"},
}


def check_password(username: str, password: str) -> dict[str, Any] | None:
    user = USERS.get(username)
    # Hash even for unknown users, so timing does not tell which names exist.
    candidate = _hash(password)
    if user is None or not hmac.compare_digest(candidate, user["password"]):
        return None
    return user


def session_options() -> dict[str, Any]:
    driver = os.environ.get("SESSION_DRIVER", "memory")
    options: dict[str, Any] = {"driver": driver, "lifetime": 120}
    if driver == "redis":
        options["url"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    elif driver == "cookie":
        options["secret"] = os.environ.get("SESSION_SECRET", "change-me-" + "x" * 32)
    elif driver == "file":
        options["directory"] = os.environ.get("SESSION_DIRECTORY", ".sessions")
    elif driver in ("postgres", "sqlite"):
        # postgres: url=None reads DATABASE_URL
        options["url"] = os.environ.get("SQLITE_URL") if driver == "sqlite" else None
        options["table"] = os.environ.get("SESSION_TABLE", "microweb_sessions")
    return options


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "5/minute")

app = MicroWeb()
app.use(
    secure_headers(
        content_security_policy={
            "default-src": ["'self'"],
            "script-src": ["'self'", NONCE],
            "connect-src": ["'self'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
    )
)
app.use(session(**session_options()))
app.use(csrf())
app.use(jinja(HERE / "templates"))
app.get("/static/*", serve_static(root=HERE / "static", cache_control="public, max-age=3600"))

chat = Chat(REDIS_URL if os.environ.get("SESSION_DRIVER") == "redis" else None)
app.use(chat.bus, chat.presence)
login_limit = rate_limit(LOGIN_RATE_LIMIT)


def sess(c: Context) -> Session:
    s: Session = c.get("session")
    return s


@app.get("/")
async def home(c: Context) -> Response:
    return c.render("home.html", {"title": "microweb example"})


@app.get("/login")
async def login_form(c: Context) -> Response:
    return c.render("login.html", {"title": "Log in"})


@app.post("/login", login_limit)
async def login_submit(c: Context) -> Response:
    form = await c.req.form()
    username = str(form.get("username", ""))
    user = check_password(username, str(form.get("password", "")))
    if user is None:
        sess(c).flash("error", "Wrong user name or password.")
        return c.redirect("/login", 303)
    await login(c, username, role=user["role"])
    sess(c).flash("success", f"Welcome back, {user['name']}!")
    return c.redirect(intended(c, "/dashboard"), 303)


@app.get("/dashboard", require_auth(redirect_to="/login"))
async def dashboard(c: Context) -> Response:
    s = sess(c)
    visits = s.increment("dashboard_visits")
    return c.render(
        "dashboard.html", {"title": f"Dashboard of {s.get('user_id')}", "visits": visits}
    )


@app.get("/admin", require_auth(redirect_to="/login"), require_role("admin"))
async def admin(c: Context) -> Response:
    return c.render("admin.html", {"title": "Admin", "user_count": len(USERS)})


@app.post("/logout")
async def logout_submit(c: Context) -> Response:
    await logout(c)
    sess(c).flash("success", "You have been logged out.")
    return c.redirect("/login", 303)


# The cookie driver keeps each session in its browser: the server cannot list a user's
# sessions nor end the others (logout everywhere and user_sessions raise
# NotImplementedError saying so, before anything changes). These pages say that instead.
NO_DEVICE_LIST = (
    "This server keeps each session in its browser (the cookie session driver), so it "
    "cannot list your devices or sign the others out. Nothing was changed."
)


@app.post("/logout/everywhere")
async def logout_everywhere(c: Context) -> Response:
    try:
        await logout(c, everywhere=True)
    except NotImplementedError:
        sess(c).flash("error", NO_DEVICE_LIST)
        return c.redirect("/sessions", 303)
    sess(c).flash("success", "You have been logged out on every device.")
    return c.redirect("/login", 303)


# -- devices: the user's sessions, each revocable (ASVS V3.3.4) ----------------------


@app.get("/sessions", require_auth(redirect_to="/login"))
async def devices(c: Context) -> Response:
    try:
        listed = await user_sessions(c)
    except NotImplementedError:
        return c.render("sessions.html", {"title": "Devices", "unlisted": NO_DEVICE_LIST})
    return c.render("sessions.html", {"title": "Devices", "devices": listed})


@app.post("/sessions/revoke", require_auth(redirect_to="/login"))
async def revoke_device(c: Context) -> Response:
    form = await c.req.form()
    try:
        await logout(c, session=str(form.get("ref", "")))
    except NotImplementedError:
        sess(c).flash("error", NO_DEVICE_LIST)
        return c.redirect("/sessions", 303)
    sess(c).flash("success", "That device has been signed out.")
    return c.redirect("/sessions", 303)


# -- chat: a WebSocket room for signed-in users --------------------------------------


@app.get("/chat", require_auth(redirect_to="/login"))
async def chat_page(c: Context) -> Response:
    return c.render("chat.html", {"title": "Chat"})


@app.ws("/chat/socket", require_auth())
async def chat_socket(c: Context, ws: WebSocket) -> None:
    await chat.serve(ws, str(sess(c).get("user_id")))


# -- JSON API: the same guards, answering JSON ----------------------------------
# Its document (/openapi.json, and the /docs page) comes from these declarations: the
# validators, the guards and each route's `responses=`.


@dataclass
class Token:
    """A CSRF token of this session: send it back in the X-CSRF-Token header."""

    token: str


@dataclass
class Credentials:
    username: str
    password: str


@dataclass
class SignedIn:
    """The signed-in user, and the CSRF token the session has now (login changes it)."""

    user: str
    role: str
    csrf_token: str


@dataclass
class Message:
    error: str


@dataclass
class Me:
    user: str
    role: str | None


@dataclass
class Users:
    users: list[str]


@dataclass
class Done:
    ok: bool


@app.get("/api/csrf-token", responses={200: Token})
async def api_csrf_token(c: Context) -> dict[str, str]:
    """The CSRF token of this session (a new session starts when there is none)."""
    return {"token": csrf_token(c)}


@app.post(
    "/api/login",
    login_limit,
    validator("json", Credentials),
    responses={200: SignedIn, 401: Message},
)
async def api_login(c: Context) -> Response:
    """Sign in.

    The session gets a new id and a new CSRF token, which the answer carries."""
    credentials: Credentials = c.req.valid("json")
    user = check_password(credentials.username, credentials.password)
    if user is None:
        return c.json({"error": "Wrong user name or password"}, status=401)
    await login(c, credentials.username, role=user["role"])
    return c.json({"user": credentials.username, "role": user["role"], "csrf_token": csrf_token(c)})


@app.get("/api/me", require_auth(), responses={200: Me})
async def api_me(c: Context) -> dict[str, Any]:
    """The signed-in user."""
    s = sess(c)
    return {"user": s.get("user_id"), "role": s.get("role")}


@app.get("/api/admin/users", require_role("admin"), responses={200: Users})
async def api_admin_users(c: Context) -> dict[str, Any]:
    """The user names, for admins."""
    return {"users": sorted(USERS)}


@app.post("/api/logout", responses={200: Done})
async def api_logout(c: Context) -> dict[str, bool]:
    """Sign out: the session ends."""
    await logout(c)
    return {"ok": True}


# -- notes: a JSON endpoint validated with `validator` -------------------------------

SOME_TEXT = re.compile(r"\S")


@dataclass
class Note:
    # The handler refuses text without a visible character; the pattern says so in
    # the document.
    text: str = field(metadata={"json_schema": {"pattern": SOME_TEXT.pattern}})
    pinned: bool = False


@dataclass
class Notes:
    notes: list[Note]


@app.post(
    "/api/notes",
    require_auth(),
    validator("json", Note),
    responses={201: Notes, 400: HTTPException},
)
async def add_note(c: Context) -> Response:
    """Add a note to this session's notes."""
    note: Note = c.req.valid("json")
    if not SOME_TEXT.search(note.text):
        raise HTTPException(400, "A note needs some text")
    notes = sess(c).get("notes") or []
    notes.append({"text": note.text, "pinned": note.pinned})
    sess(c).put("notes", notes)
    return c.json({"notes": notes}, status=201)


@app.get("/api/notes", require_auth(), responses={200: Notes})
async def list_notes(c: Context) -> dict[str, Any]:
    """This session's notes."""
    return {"notes": sess(c).get("notes") or []}


app.route("/", openapi_routes(app, title="microweb example", version="1.0"))
