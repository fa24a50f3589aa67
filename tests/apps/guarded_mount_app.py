"""A Starlette app mounted under a guard, served by a real uvicorn for tests/security/.

`/legacy/admin/*` is guarded by basic auth; `/legacy` is a Starlette app with an HTTP
route and a WebSocket route under `/admin`, and a public page.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from microweb import MicroWeb
from microweb.middleware import basic_auth, https_redirect


async def admin_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"admin page {request.path_params['rest']}")


async def public_page(request: Request) -> PlainTextResponse:
    return PlainTextResponse("public")


async def admin_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("admin socket open")
    await websocket.close()


legacy = Starlette(
    routes=[
        Route("/admin/{rest:path}", admin_page),
        Route("/public", public_page),
        WebSocketRoute("/admin/socket", admin_socket),
    ]
)

app = MicroWeb()
app.use("/legacy/admin/*", basic_auth(username="ann", password="secret"))
app.mount("/legacy", legacy)
app.get("/secure", https_redirect(), lambda c: "secure")
