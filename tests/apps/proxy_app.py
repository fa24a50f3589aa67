"""The app tests/middleware/test_behind_a_proxy.py serves with uvicorn, with and without
`--proxy-headers`: a rate limit and an IP allow list, each keyed on the default (the
peer address uvicorn puts in the scope), and a route that shows that address."""

from __future__ import annotations

from microweb import MicroWeb
from microweb.middleware import ip_restriction, rate_limit

app = MicroWeb()
app.use("/limited", rate_limit("2/minute"))
app.use("/office", ip_restriction(allow=["10.0.0.0/8"]))


@app.get("/limited")
async def limited(c):  # type: ignore[no-untyped-def]
    return {"client": c.req.client[0]}


@app.get("/office")
async def office(c):  # type: ignore[no-untyped-def]
    return {"client": c.req.client[0]}


@app.get("/whoami")
async def whoami(c):  # type: ignore[no-untyped-def]
    return {"client": c.req.client[0], "scheme": c.req.url.split(":", 1)[0]}
