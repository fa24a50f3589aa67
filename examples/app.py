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
bounds login attempts per client address.

    uvicorn examples.app:app --port 8000
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from examples.chat import Room
from microweb import (
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
from microweb.csrf import csrf_token
from microweb.middleware import NONCE, rate_limit, secure_headers
from microweb.sessions import Session
from microweb.static import serve_static
from microweb.templates import jinja
from microweb.websockets import WebSocket

HERE = Path(__file__).resolve().parent
_SALT = b"microweb-example"


def _hash(password: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), _SALT, 100_000)


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

room = Room(REDIS_URL if os.environ.get("SESSION_DRIVER") == "redis" else None)
app.on_startup(room.start)
app.on_shutdown(room.stop)
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


@app.post("/logout/everywhere")
async def logout_everywhere(c: Context) -> Response:
    await logout(c, everywhere=True)
    sess(c).flash("success", "You have been logged out on every device.")
    return c.redirect("/login", 303)


# -- devices: the user's sessions, each revocable (ASVS V3.3.4) ----------------------


@app.get("/sessions", require_auth(redirect_to="/login"))
async def devices(c: Context) -> Response:
    return c.render("sessions.html", {"title": "Devices", "devices": await user_sessions(c)})


@app.post("/sessions/revoke", require_auth(redirect_to="/login"))
async def revoke_device(c: Context) -> Response:
    form = await c.req.form()
    await logout(c, session=str(form.get("ref", "")))
    sess(c).flash("success", "That device has been signed out.")
    return c.redirect("/sessions", 303)


# -- chat: a WebSocket room for signed-in users --------------------------------------


@app.get("/chat", require_auth(redirect_to="/login"))
async def chat_page(c: Context) -> Response:
    return c.render("chat.html", {"title": "Chat"})


@app.ws("/chat/socket", require_auth())
async def chat_socket(c: Context, ws: WebSocket) -> None:
    user = str(sess(c).get("user_id"))
    await ws.accept()
    await room.join(ws, user)
    try:
        async for message in ws:
            try:
                text = str(json.loads(message)["text"]).strip()
            except (ValueError, KeyError, TypeError):
                continue  # not a chat message: ignore it
            if text:
                await room.say(user, text)
    finally:
        await room.leave(ws)


# -- JSON API: the same guards, answering JSON ----------------------------------


@app.get("/api/csrf-token")
async def api_csrf_token(c: Context) -> dict[str, str]:
    return {"token": csrf_token(c)}


@app.post("/api/login", login_limit)
async def api_login(c: Context) -> Response:
    data = await c.req.json()
    if not isinstance(data, dict):
        return c.json({"error": "Expected a JSON object"}, status=400)
    user = check_password(str(data.get("username", "")), str(data.get("password", "")))
    if user is None:
        return c.json({"error": "Wrong user name or password"}, status=401)
    await login(c, str(data["username"]), role=user["role"])
    return c.json({"user": data["username"], "role": user["role"], "csrf_token": csrf_token(c)})


@app.get("/api/me", require_auth())
async def api_me(c: Context) -> dict[str, Any]:
    s = sess(c)
    return {"user": s.get("user_id"), "role": s.get("role")}


@app.get("/api/admin/users", require_role("admin"))
async def api_admin_users(c: Context) -> dict[str, Any]:
    return {"users": sorted(USERS)}


@app.post("/api/logout")
async def api_logout(c: Context) -> dict[str, bool]:
    await logout(c)
    return {"ok": True}


# -- notes: a JSON endpoint validated with `validator` -------------------------------


@dataclass
class Note:
    text: str
    pinned: bool = False


@app.post("/api/notes", require_auth(), validator("json", Note))
async def add_note(c: Context) -> Response:
    note: Note = c.req.valid("json")
    if not note.text.strip():
        return c.json({"error": "A note needs some text"}, status=400)
    notes = sess(c).get("notes") or []
    notes.append({"text": note.text, "pinned": note.pinned})
    sess(c).put("notes", notes)
    return c.json({"notes": notes}, status=201)


@app.get("/api/notes", require_auth())
async def list_notes(c: Context) -> dict[str, Any]:
    return {"notes": sess(c).get("notes") or []}
