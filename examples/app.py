"""The example app `make run` serves: login, flash messages, guards and a JSON API.

Memory sessions by default; `SESSION_DRIVER=redis` (with `REDIS_URL`) keeps
them in Redis so several workers share them. Users: alice / wonderland (admin)
and bob / builder.

    uvicorn examples.app:app --port 8000
"""

from __future__ import annotations

import hashlib
import hmac
import os
from html import escape
from typing import Any

from microweb import (
    MicroWeb,
    Response,
    csrf,
    csrf_field,
    login,
    logout,
    require_auth,
    require_role,
    session,
)
from microweb.auth import intended
from microweb.context import Context
from microweb.csrf import csrf_token
from microweb.sessions import Session

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
    return options


app = MicroWeb()
app.use(session(**session_options()))
app.use(csrf())


def sess(c: Context) -> Session:
    s: Session = c.get("session")
    return s


def page(c: Context, title: str, body: str, status: int = 200) -> Response:
    s = sess(c)
    messages = []
    for kind in ("success", "error"):
        text = s.get(kind)
        if text:
            messages.append(f'<p class="flash {kind}" role="status">{escape(str(text))}</p>')
    user = s.get("user_id")
    nav = '<a href="/">Home</a> <a href="/dashboard">Dashboard</a> <a href="/admin">Admin</a>'
    meta = ""
    if user:
        nav += f' <span id="who">Signed in as {escape(str(user))}</span>'
        # Only signed-in pages carry a token, so anonymous visits create no session.
        meta = f'<meta name="csrf-token" content="{escape(csrf_token(c))}">'
    return c.html(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · microweb</title>
{meta}
<style>body{{font-family:system-ui;max-width:40rem;margin:2rem auto}}
.flash{{padding:.5rem;border-radius:4px}}.success{{background:#dfd}}.error{{background:#fdd}}</style>
</head><body><nav>{nav}</nav>{"".join(messages)}<h1>{escape(title)}</h1>{body}</body></html>""",
        status=status,
    )


@app.get("/")
async def home(c: Context) -> Response:
    return page(c, "microweb example", "<p>A small app with sessions, CSRF and guards.</p>")


@app.get("/login")
async def login_form(c: Context) -> Response:
    form = f"""<form method="post" action="/login">{csrf_field(c)}
<label>User <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required>
</label><button type="submit">Log in</button></form>"""
    return page(c, "Log in", form)


@app.post("/login")
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
    body = f"""<p id="visits">Dashboard visits this session: {visits}</p>
<form method="post" action="/logout">{csrf_field(c)}<button>Log out</button></form>
<form method="post" action="/logout/everywhere">{csrf_field(c)}
<button>Log out everywhere</button></form>"""
    return page(c, f"Dashboard of {s.get('user_id')}", body)


@app.get("/admin", require_auth(redirect_to="/login"), require_role("admin"))
async def admin(c: Context) -> Response:
    return page(c, "Admin", f"<p>{len(USERS)} users.</p>")


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


# -- JSON API: the same guards, answering JSON ----------------------------------


@app.get("/api/csrf-token")
async def api_csrf_token(c: Context) -> dict[str, str]:
    return {"token": csrf_token(c)}


@app.post("/api/login")
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
