"""The sign-in app several session tests share: log in as any user, log out (here or
everywhere), change the session, and read who is signed in."""

from __future__ import annotations

from typing import Any

from microweb import MicroWeb, login, logout, session
from microweb.context import Context


def login_app(*, everywhere: bool = False, **session_options: Any) -> MicroWeb:
    """`POST /login/:user`, `POST /logout` (everywhere, when asked), `POST /visit` (counts
    in the session: `{"user", "n"}`) and `GET /me` (`{"user"}`), on `session(...)` with
    `session_options`."""
    app = MicroWeb()
    app.use(session(**session_options))

    @app.post("/login/:user")
    async def do_login(c: Context) -> str:
        await login(c, c.req.param("user"))
        return "in"

    @app.post("/logout")
    async def do_logout(c: Context) -> str:
        await logout(c, everywhere=everywhere)
        return "out"

    @app.post("/visit")
    async def visit(c: Context) -> dict[str, Any]:
        return {"user": c.get("session").get("user_id"), "n": c.get("session").increment("n")}

    @app.get("/me")
    async def me(c: Context) -> dict[str, Any]:
        return {"user": c.get("session").get("user_id")}

    return app
