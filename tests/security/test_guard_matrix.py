"""Every guard x every way in x every path spelling: a request either meets the guard or is
refused before anything runs; it never reaches what the guard protects without credentials.

The guarded area is `/area/admin/*` (`app.use("/area/admin/*", guard)`); what it guards is
`/area/admin/page`, served in turn by each way in: a route, an `app.route` sub-app, a
`base_path` app, a mounted ASGI app, `serve_static`, a WebSocket route, a WebSocket to a
mounted app, and HEAD. The mounted app is deliberately lenient, as file servers are: it
collapses `//`, resolves `..` and treats `\\` as `/` before it looks at the path, so any
spelling that slips past the guard and still lands on `/admin/page` there is caught.

Each cell is requested the way a server delivers it (uvicorn's scope: `path` fully
percent-decoded, `raw_path` as sent). A positive control per guard and way proves that,
with credentials, the canonical path does reach the protected resource.
"""

from __future__ import annotations

import asyncio
import base64
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jwt as pyjwt
import pytest

from microweb import MicroWeb, create_middleware, csrf, login, require_auth, require_role, session
from microweb.middleware import basic_auth, bearer_auth, ip_restriction, jwt
from microweb.static import serve_static
from microweb.testing.driver import call_app
from microweb.types import Message, Receive, Scope, Send

SECRET = "SECRET-CONTENT"
REACHED = (b"x-reached", b"yes")
JWT_KEY = "matrix-signing-key-of-32-bytes!!"
PEER = ("127.0.0.1", 50000)
ALLOWED_PEER = ("10.1.2.3", 50000)


# -- what the guard protects --------------------------------------------------


async def lenient_app(scope: Scope, receive: Receive, send: Send) -> None:
    """A mounted ASGI app that normalises paths as file servers do."""
    path = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    path = posixpath.normpath(re.sub("/+", "/", "/" + path.replace("\\", "/")))
    hit = path == "/admin/page"
    if scope["type"] == "http":
        headers = [REACHED] if hit else []
        await send(
            {"type": "http.response.start", "status": 200 if hit else 404, "headers": headers}
        )
        await send({"type": "http.response.body", "body": SECRET.encode() if hit else b"no"})
        return
    await receive()  # websocket.connect
    if not hit:
        await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b"no"})
        return
    await send({"type": "websocket.accept", "headers": [REACHED]})
    await send({"type": "websocket.send", "text": SECRET})
    await send({"type": "websocket.close", "code": 1000})


async def secret(c: Any) -> Any:
    return c.text(SECRET, headers={"x-reached": "yes"})


async def secret_socket(c: Any, ws: Any) -> None:
    await ws.accept(headers=[("x-reached", "yes")])
    await ws.send_text(SECRET)


def add_way_in(app: MicroWeb, way: str, static_root: Path) -> None:
    if way in ("route", "head"):
        app.get("/area/admin/page", secret)
        app.post("/area/admin/page", secret)
    elif way == "sub_app":
        sub = MicroWeb()
        sub.get("/admin/page", secret)
        sub.post("/admin/page", secret)
        app.route("/area", sub)
    elif way == "base_path":
        area = app.base_path("/area")
        area.get("/admin/page", secret)
        area.post("/admin/page", secret)
    elif way in ("mount", "websocket_mount"):
        app.mount("/area", lenient_app)
    elif way == "static":
        app.get("/area/*", serve_static(root=static_root))
    elif way == "websocket":
        app.ws("/area/admin/page", handler=secret_socket)
    else:  # pragma: no cover
        raise AssertionError(way)


# -- the guards and their credentials -----------------------------------------


@dataclass
class Guard:
    name: str
    make: Callable[[], Any]
    statuses: tuple[int, ...]  # what the guard answers without credentials
    credentials: Callable[[MicroWeb], dict[str, Any]]
    unsafe_only: bool = False  # csrf: GET, HEAD and WebSocket handshakes pass by design


def _signed_in(role: str | None) -> Callable[[MicroWeb], dict[str, Any]]:
    def credentials(app: MicroWeb) -> dict[str, Any]:
        answer = run(call_app(app, "POST", "https://testserver/sign-in", json={"role": role}))
        cookie = answer.headers["set-cookie"].split(";")[0]
        token = run(call_app(app, "GET", "https://testserver/token", headers={"cookie": cookie}))
        return {"headers": {"cookie": cookie, "x-csrf-token": token.text}}

    return credentials


def _header(name: str, value: str) -> Callable[[MicroWeb], dict[str, Any]]:
    return lambda app: {"headers": {name: value}}


@create_middleware
async def own_guard(c: Any, next: Any) -> Any:
    if c.req.header("x-pass") != "yes":
        return c.text("not you", 403)
    await next()
    return None


GUARDS = [
    Guard("require_auth", require_auth, (401,), _signed_in(None)),
    Guard("require_role", lambda: require_role("admin"), (401, 403), _signed_in("admin")),
    Guard(
        "basic_auth",
        lambda: basic_auth(username="ann", password="secret"),
        (401,),
        _header("authorization", "Basic " + base64.b64encode(b"ann:secret").decode()),
    ),
    Guard(
        "bearer_auth",
        lambda: bearer_auth(token="opaque-token"),
        (400, 401),
        _header("authorization", "Bearer opaque-token"),
    ),
    Guard(
        "jwt",
        lambda: jwt(JWT_KEY, algorithms=["HS256"]),
        (401,),
        lambda app: {
            "headers": {
                "authorization": "Bearer "
                + pyjwt.encode({"sub": "ann", "exp": time.time() + 600}, JWT_KEY, "HS256")
            }
        },
    ),
    Guard(
        "ip_restriction",
        lambda: ip_restriction(allow=["10.1.2.0/24"]),
        (403,),
        lambda app: {"client": ALLOWED_PEER},
    ),
    Guard("csrf", csrf, (403,), _signed_in(None), unsafe_only=True),
    Guard("own_middleware", lambda: own_guard, (403,), _header("x-pass", "yes")),
]

WAYS = [
    "route",
    "sub_app",
    "base_path",
    "mount",
    "static",
    "websocket",
    "websocket_mount",
    "head",
]
SOCKETS = ("websocket", "websocket_mount")
# Ways that only take GET-like requests, which csrf() lets through by design.
SAFE_ONLY = ("static", "websocket", "websocket_mount", "head")


@dataclass(frozen=True)
class Spelling:
    name: str
    raw_path: str  # as sent on the wire
    strict: bool = True


SPELLINGS = [
    Spelling("encoded_slash_upper", "/area/admin%2Fpage"),
    Spelling("encoded_slash_lower", "/area/admin%2fpage"),
    Spelling("encoded_slash_in_prefix", "/area%2Fadmin/page"),
    Spelling("double_encoded_slash", "/area/admin%252Fpage"),
    Spelling("encoded_dot_dot", "/area/x/%2e%2e/admin/page"),
    Spelling("encoded_dot_dot_upper", "/area/x/%2E%2E/admin/page"),
    Spelling("dot_dot", "/area/x/../admin/page"),
    Spelling("dot", "/area/./admin/page"),
    Spelling("double_slash", "/area//admin/page"),
    Spelling("double_slash_below", "/area/admin//page"),
    Spelling("trailing_slash_strict", "/area/admin/page/"),
    Spelling("trailing_slash_not_strict", "/area/admin/page/", strict=False),
    Spelling("no_slash_not_strict", "/area/admin", strict=False),
    Spelling("semicolon", "/area/admin;x/page"),
    Spelling("semicolon_end", "/area/admin/page;x"),
    Spelling("nul", "/area/admin%00/page"),
    Spelling("nul_end", "/area/admin/page%00"),
    Spelling("upper_case", "/area/ADMIN/page"),
    Spelling("upper_case_prefix", "/AREA/admin/page"),
    Spelling("encoded_letter", "/area/%61dmin/page"),
    Spelling("encoded_letters_everywhere", "/%61rea/%61dmin/%70age"),
    Spelling("encoded_backslash", "/area/admin%5Cpage"),
    Spelling("backslash", "/area/admin\\page"),
    Spelling("no_leading_slash", "area/admin/page"),
    Spelling("tab", "/area/admin%09/page"),
    Spelling("overlong_utf8_slash", "/area/admin%C0%AFpage"),
]


# -- driving the app as a server would ---------------------------------------


_loop = asyncio.new_event_loop()


def run(awaitable: Any) -> Any:
    return _loop.run_until_complete(awaitable)


@dataclass
class Outcome:
    status: int
    reached: bool
    body: str = ""
    messages: list[Message] = field(default_factory=list)


async def request(
    app: MicroWeb, method: str, raw_path: str, headers: dict[str, str], client: tuple[str, int]
) -> Outcome:
    answer = await call_app(app, method, raw_path, headers, client=client)
    reached = answer.headers.get("x-reached") == "yes" or SECRET in answer.text
    return Outcome(answer.status_code, reached, answer.text)


async def handshake(
    app: MicroWeb, raw_path: str, headers: dict[str, str], client: tuple[str, int]
) -> Outcome:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "scheme": "wss",
        "path": unquote(raw_path, errors="surrogateescape"),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")]
        + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": client,
        "server": ("testserver", 443),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
        "state": {},
    }
    inbox: list[Message] = [{"type": "websocket.connect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        if inbox:
            return inbox.pop(0)
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    accepted = any(m["type"] == "websocket.accept" for m in sent)
    texts = [m.get("text") for m in sent if m["type"] == "websocket.send"]
    status = next(
        (m["status"] for m in sent if m["type"] == "websocket.http.response.start"),
        101 if accepted else 403,
    )
    return Outcome(status, accepted or SECRET in texts, messages=sent)


_apps: dict[tuple[str, str, bool], tuple[MicroWeb, dict[str, Any]]] = {}


def app_for(guard: Guard, way: str, strict: bool, static_root: Path) -> tuple[MicroWeb, dict]:
    """The app of one (guard, way, strict) cell, and the credentials that pass its guard."""
    key = (guard.name, way, strict)
    if key not in _apps:
        app = MicroWeb(strict=strict)
        app.use(session())

        @app.post("/sign-in")
        async def sign_in(c: Any) -> str:
            body = await c.req.json()
            await login(c, "ann", role=body.get("role"))
            return "signed in"

        app.get("/token", lambda c: c.get("session").token())
        app.use("/area/admin/*", guard.make())
        add_way_in(app, way, static_root)
        _apps[key] = (app, guard.credentials(app))
    return _apps[key]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    (root / "admin").mkdir()
    (root / "admin" / "page").write_text(SECRET)
    return root


def call(
    guard: Guard, way: str, raw_path: str, app: MicroWeb, credentials: dict[str, Any] | None
) -> Outcome:
    given = credentials or {}
    headers = dict(given.get("headers", {}))
    client = given.get("client", PEER)
    if way in SOCKETS:
        return run(handshake(app, raw_path, headers, client))
    if way == "head":
        method = "HEAD"
    elif guard.unsafe_only:
        method = "POST"
    else:
        method = "GET"
    return run(request(app, method, raw_path, headers, client))


CELLS = [
    (guard, way) for guard in GUARDS for way in WAYS if not (guard.unsafe_only and way in SAFE_ONLY)
]
CELL_IDS = [f"{guard.name}-{way}" for guard, way in CELLS]


@pytest.mark.parametrize(("guard", "way"), CELLS, ids=CELL_IDS)
def test_with_credentials_the_canonical_path_reaches_the_protected_resource(
    guard: Guard, way: str, static_root: Path
) -> None:
    app, credentials = app_for(guard, way, True, static_root)

    outcome = call(guard, way, "/area/admin/page", app, credentials)

    assert outcome.reached, outcome


@pytest.mark.parametrize(("guard", "way"), CELLS, ids=CELL_IDS)
def test_without_credentials_the_canonical_path_meets_the_guard(
    guard: Guard, way: str, static_root: Path
) -> None:
    app, _ = app_for(guard, way, True, static_root)

    outcome = call(guard, way, "/area/admin/page", app, None)

    assert not outcome.reached, outcome
    assert outcome.status in guard.statuses, outcome


@pytest.mark.parametrize("spelling", SPELLINGS, ids=[s.name for s in SPELLINGS])
@pytest.mark.parametrize(("guard", "way"), CELLS, ids=CELL_IDS)
def test_no_spelling_of_the_path_gets_past_the_guard(
    guard: Guard, way: str, spelling: Spelling, static_root: Path
) -> None:
    app, _ = app_for(guard, way, spelling.strict, static_root)

    outcome = call(guard, way, spelling.raw_path, app, None)

    assert not outcome.reached, outcome
    # Met by the guard, or refused before anything ran (nothing is named so: 404;
    # a malformed request: 400); a WebSocket may also be closed before the handshake.
    assert outcome.status in (*guard.statuses, 400, 404), outcome


EQUIVALENT = [
    Spelling("encoded_letter", "/area/%61dmin/page"),
    Spelling("encoded_letters_everywhere", "/%61rea/%61dmin/%70age"),
    Spelling("trailing_slash_not_strict", "/area/admin/page/", strict=False),
]


# A trailing slash names a directory to a file server: those ways are left out of it.
EQUIVALENT_CELLS = [
    (guard, way, spelling)
    for guard, way in CELLS
    for spelling in EQUIVALENT
    if not (way in ("mount", "websocket_mount", "static") and spelling.raw_path.endswith("/"))
]


@pytest.mark.parametrize(
    ("guard", "way", "spelling"),
    EQUIVALENT_CELLS,
    ids=[f"{g.name}-{w}-{s.name}" for g, w, s in EQUIVALENT_CELLS],
)
def test_spellings_of_the_same_path_reach_it_with_credentials(
    guard: Guard, way: str, spelling: Spelling, static_root: Path
) -> None:
    app, credentials = app_for(guard, way, spelling.strict, static_root)

    outcome = call(guard, way, spelling.raw_path, app, credentials)

    assert outcome.reached, outcome
