"""FastAPI, written the way its documentation shows (measured on the JSON rows)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def hello() -> str:
    return "Hello, World!"


@app.get("/users/{id}")
async def user(id: str) -> dict[str, str]:
    return {"id": id, "name": "user"}


@app.post("/echo")
async def echo(payload: dict[str, Any]) -> dict[str, Any]:
    return payload
