"""An app with a failing route, for the debug page and CLI tests on a real uvicorn.

MICROWEB_DEBUG (set by the test, or by `python -m microweb run --debug`) decides
whether its errors show the debug page.
"""

from __future__ import annotations

from microweb import MicroWeb

app = MicroWeb()


@app.get("/")
async def home(c):
    return "home"


@app.get("/boom")
async def boom(c):
    raise RuntimeError("boom from the debug app")


not_an_app = 42
