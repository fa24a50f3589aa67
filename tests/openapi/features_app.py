"""An app that uses every feature the OpenAPI document describes: path syntax, sub-apps,
base paths, a mount, every validator target, dataclasses, TypedDicts, enums, pydantic
and msgspec models, tagged unions, every built-in guard, `responses=` and a model
return annotation."""

from __future__ import annotations

import enum
import typing
from dataclasses import dataclass, field
from typing import Annotated, Literal, TypedDict

import msgspec
import pydantic

from microweb import (
    HTTPException,
    MicroWeb,
    UploadFile,
    csrf,
    require_auth,
    require_role,
    session,
    validator,
)
from microweb.middleware import basic_auth, bearer_auth, body_limit, jwt, rate_limit


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class NewNote:
    """A note to write."""

    text: str = field(metadata={"description": "What the note says"})
    pinned: bool = False
    color: Color | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Note:
    id: int
    text: str
    pinned: bool


@dataclass
class Page:
    limit: int = 20
    q: str | None = None
    tag: list[str] = field(default_factory=list)


@dataclass
class Headers:
    x_request_id: str


@dataclass
class Prefs:
    theme: Literal["light", "dark"] = "light"


@dataclass
class NoteId:
    id: int


@dataclass
class Upload:
    title: str
    file: UploadFile


@dataclass
class Circle:
    kind: Literal["circle"]
    radius: float


@dataclass
class Square:
    kind: Literal["square"]
    side: float


@dataclass
class Drawing:
    shape: Circle | Square


class Stats(TypedDict):
    notes: int
    colors: dict[str, int]


class Cat(pydantic.BaseModel):
    pet_type: Literal["cat"]
    meows: int


class Dog(pydantic.BaseModel):
    pet_type: Literal["dog"]
    barks: float


class Owner(pydantic.BaseModel):
    name: str
    pet: Annotated[Cat | Dog, pydantic.Field(discriminator="pet_type")]


class Book(msgspec.Struct):
    title: str
    year: int | None = None


class Unknowable:
    """A class no schema can describe."""


@dataclass
class Odd:
    thing: Unknowable


def shout(value: typing.Any) -> str:
    """Any text; it comes back in capitals."""
    return str(value).upper()


app = MicroWeb()
app.use(session(cookie="notes_sid"))
app.use(csrf())
app.use("/admin/*", require_role("admin"))


@app.post("/notes", require_auth(), validator("json", NewNote), responses={201: Note, 404: None})
async def create_note(c):
    """Create a note.

    The text is stored as written."""
    return c.json({"id": 1, "text": "x", "pinned": False}, status=201)


@app.get("/notes", validator("query", Page), validator("header", Headers), tags=["notes"])
async def list_notes(c) -> list[Note]:
    return []


@app.get("/notes/:id{[0-9]+}", validator("param", NoteId), validator("cookie", Prefs))
async def show_note(c) -> Note:
    return {"id": 1, "text": "x", "pinned": False}


@app.get("/animals/:type?")
async def animals(c):
    return []


@app.post("/uploads", body_limit(1000), validator("form", Upload))
async def upload(c):
    return "ok"


@app.post("/shout", validator("json", shout))
async def shouted(c):
    return c.req.valid("json")


@app.post("/drawings", validator("json", Drawing))
async def draw(c):
    return "ok"


@app.post("/owners", validator("json", Owner), responses={200: Owner})
async def owners(c):
    return {}


@app.post("/books", validator("json", Book), responses={200: list[Book], 409: HTTPException})
async def books(c):
    return []


@app.get("/stats", responses={200: Stats})
async def stats(c):
    return {"notes": 0, "colors": {}}


@app.post("/odd", validator("json", Odd))
async def odd(c):
    return "ok"


@app.get("/admin/stats", rate_limit("10/minute"))
async def admin_stats(c):
    return {}


api = MicroWeb()


@api.get("/keys/:key", bearer_auth(token="secret-token"))
async def key(c):
    return {}


@api.get("/tokens", jwt(secret="s" * 32, algorithms=["HS256"], cookie="jwt_cookie"))
async def tokens(c):
    return {}


@api.get("/basic", basic_auth(username="u", password="p"))
async def basic(c):
    return {}


@api.get("/files/*")
async def file(c):
    return {}


app.route("/api", api)
v2 = app.base_path("/v2")


@v2.get("/ping", name="ping_v2")
async def ping(c):
    return "pong"


async def other_asgi_app(scope, receive, send):
    pass


app.mount("/legacy", other_asgi_app)


@app.ws("/socket")
async def socket(c, ws):
    await ws.accept()
