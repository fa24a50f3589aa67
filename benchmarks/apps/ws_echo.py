"""WebSocket echo servers for benchmarks/websocket.py: each answers every text message with
the same text, on ``/ws``, written the way each framework's documentation shows."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket as StarletteWebSocket
from starlette.websockets import WebSocketDisconnect

from microweb import Context, MicroWeb
from microweb.websockets import WebSocket

microweb_app = MicroWeb()


@microweb_app.ws("/ws")
async def echo(c: Context, ws: WebSocket) -> None:
    await ws.accept()
    async for message in ws:
        await ws.send_text(message if isinstance(message, str) else message.decode())


async def starlette_echo(websocket: StarletteWebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


starlette_app = Starlette(routes=[WebSocketRoute("/ws", starlette_echo)])
