"""Sessions in 50 lines: a visits counter and a flash message.

    uvicorn examples.sessions:app --port 8000
    SESSION_DRIVER=redis REDIS_URL=redis://127.0.0.1:6379/0 uvicorn examples.sessions:app

Open http://localhost:8000/ (browsers accept the Secure cookie on localhost),
reload to count, then visit /reset: the next page shows the flash message once.
"""

from __future__ import annotations

import os
from html import escape

from microweb import Context, MicroWeb, Response
from microweb.sessions import Session, session

driver = os.environ.get("SESSION_DRIVER", "memory")
options = {"driver": driver}
if driver == "redis":
    options["url"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

app = MicroWeb()
app.use(session(**options))


@app.get("/")
async def index(c: Context) -> Response:
    s: Session = c.get("session")
    visits = s.increment("visits")
    message = s.get("message")
    notice = f'<p class="flash">{escape(message)}</p>' if message else ""
    return c.html(
        f"{notice}<p>You have been here {visits} time{'s' if visits != 1 else ''}.</p>"
        '<p><a href="/">Again</a> · <a href="/reset">Reset</a></p>'
    )


@app.get("/reset")
async def reset(c: Context) -> Response:
    s: Session = c.get("session")
    s.forget("visits")
    s.flash("message", "Counter reset.")
    return c.redirect("/")


@app.get("/health")
async def health(c: Context) -> str:
    return "ok"  # never touches the session: works even while Redis is down
