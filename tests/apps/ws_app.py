"""WebSocket routes served by a real uvicorn for tests/test_websockets.py."""

from __future__ import annotations

from microweb import MicroWeb, WebSocket, login, require_auth, require_role, session
from microweb.context import Context

app = MicroWeb(ws_origins=["https://trusted.example"])
app.use(session(secure=False))


@app.ws("/echo")
async def echo(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        if isinstance(message, bytes):
            await ws.send_bytes(message[::-1])
        else:
            await ws.send_text(message)


@app.ws("/json/:room")
async def json_room(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    data = await ws.receive_json()
    await ws.send_json({"room": c.req.param("room"), "got": data})
    await ws.close(4000, "done")


@app.ws("/boom")
async def boom(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    raise RuntimeError("handler failed")


@app.ws("/me", require_auth())
async def me(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json({"user": c.get("session").get("user_id")})
    c.get("session").put("seen_by_socket", True)


@app.ws("/admin", require_role("admin"))
async def admin(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("admin")


@app.post("/login/:user")
async def do_login(c: Context) -> dict[str, str]:
    await login(c, c.req.param("user"), role="user")
    return {"ok": "yes"}


@app.get("/seen")
async def seen(c: Context) -> dict[str, object]:
    return {"seen": c.get("session").get("seen_by_socket")}


@app.get("/echo")
async def http_echo(c: Context) -> str:
    return "plain http on the same path"
