"""Machinery of the fuzz suite: one app that uses everything, raw ASGI calls, the property.

- `build_app(driver, **options)`: routes with params (regex, optional, wildcards),
  query, headers, cookies, every body parser, session reads and writes, flash,
  csrf() on every unsafe method outside `/hooks/*`, login/logout and the guards,
  validators (JSON and query, a dataclass of str, int and float fields), static
  files (`/assets/*`: ranges, an empty file, a dotfile, a gzip sibling) and
  JSON stored in the session and read back.
- `ODD_TEXT` / `odd_text` / `odd_bytes`: the input classes that once gave 500s
  (lone surrogates, non-BMP characters, Unicode digits, digit runs past 4300),
  as text for JSON and as the bytes a client can put in a header, cookie,
  path or query.
- `Req` is one raw request (bytes path, bytes query, bytes headers, body chunks);
  `call(app, req)` drives the ASGI interface itself (no client library cleaning
  up the input) and checks the messages the app sends are well formed.
- `fuzz_env` (session scope, one per driver: memory, cookie, file, redis) runs an
  app with its lifespan started on one event loop, with a few live sessions.
- `FuzzEnv.check(req, reply)` is the property every fuzz test asserts: no 5xx,
  no exception out of the app, a non-empty body on every 4xx, clean response
  headers, and nothing logged at ERROR on the "microweb" loggers.

MICROWEB_FUZZ_SCALE=10 runs ten times more examples. The regression tests at the
bottom of test_fuzz_http.py and test_fuzz_sessions.py pin the inputs that once
gave a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import logging
import os
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from microweb import (
    HTTPException,
    Limits,
    MicroWeb,
    csrf,
    login,
    logout,
    require_auth,
    require_role,
    session,
    validator,
)
from microweb.auth import intended
from microweb.csrf_protection import csrf_token
from microweb.sessions.manager import SessionCookieTooLarge
from microweb.static import serve_static

from ..conftest import drop_session_tables

# -- settings and the example counter -------------------------------------------------

SCALE = float(os.environ.get("MICROWEB_FUZZ_SCALE", "1"))
DRIVERS = ["memory", "cookie", "file", "redis", "postgres", "sqlite"]
TIMEOUT = 10.0  # seconds one request may take before it counts as a hang
SECRET = "fuzz-secret"
OTHER_SECRET = "not-the-fuzz-secret"


def fuzz_settings(examples: int) -> settings:
    """Deterministic hypothesis settings for `examples` examples (times MICROWEB_FUZZ_SCALE)."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        database=None,
        derandomize=True,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


class Stats:
    examples = 0
    requests = 0
    documented = 0
    statuses: Counter[int] = Counter()
    seconds = 0.0


def tick() -> None:
    """Count one example (call it first thing in every @given body)."""
    Stats.examples += 1


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        Stats.seconds += time.perf_counter() - start


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not Stats.examples:
        return
    terminalreporter.write_line(
        f"fuzz: {Stats.examples} examples run ({Stats.requests} requests) "
        f"in {Stats.seconds:.1f} s of test time"
    )
    spread = ", ".join(f"{code}: {n}" for code, n in sorted(Stats.statuses.items()))
    terminalreporter.write_line(f"fuzz: responses by status: {spread}")
    if Stats.documented:
        terminalreporter.write_line(
            f"fuzz: {Stats.documented} documented 500s (cookie session over 4 KB)"
        )


# -- odd text: the input classes that once gave 500s ---------------------------------------

ODD_TEXT = [
    # lone surrogates (what a JSON "\ud800" escape decodes to), a pair the wrong way round
    "\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\udc00\ud800",
    # outside the BMP
    "\U0001f600", "\U00010348", "\U0010ffff",
    # digits to str.isdigit() or int(), not to a parser of ASCII numbers
    "\u00b2", "\u00b3", "\u00b9", "\u0663", "\u06f3", "\u0967", "\uff14", "\U0001d7d8",
    "\u2460", "\u00bd", "\u216b",
    # others that break naive code: BOM, NUL, line breaks, escapes, signs
    "\ufeff", "\x00", "\r\n", "\u2028", "\x85", "\u00e9", "\\", "%", '"', "-", "+", "e", ".",
]  # fmt: skip

# Hypothesis draws the first items of a list most: the runs that broke int() come first.
digit_runs = st.builds(
    lambda sign, zeros, count, digit: sign + "0" * zeros + digit * count,
    st.sampled_from(["", "", "-", "+"]),
    st.sampled_from([0, 0, 1, 30]),
    st.sampled_from([6000, 400, 4301, 309, 19, 20, 4300]),
    st.sampled_from("91"),
)
odd_text = st.one_of(
    st.lists(st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=3)), min_size=1, max_size=6).map(
        "".join
    ),
    digit_runs,
)


def _as_bytes(text: str, how: str) -> bytes:
    if how == "utf-8":  # lone surrogates as the bytes a careless client encodes them to
        return text.encode("utf-8", "surrogatepass")
    if how == "percent":
        return quote(text.encode("utf-8", "surrogatepass"), safe="").encode()
    return text.encode("latin-1", "ignore") or b"\xb2"


odd_bytes = st.tuples(odd_text, st.sampled_from(["utf-8", "percent", "latin-1"])).map(
    lambda pair: _as_bytes(*pair)
)


# -- raw requests ---------------------------------------------------------------------


@dataclass
class Req:
    """One raw HTTP request, as bytes, the way a server could hand it to ASGI."""

    method: str = "GET"
    raw_path: bytes | None = b"/"
    query: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=lambda: [b""])
    path: str | None = None  # scope["path"]; derived from raw_path when None
    root_path: str = ""
    scheme: str = "https"
    stored_record: bool = False  # its session cookie names a record microweb did not write

    def header(self, name: str) -> str | None:
        """The value the app sees for `name` (duplicates joined as the app joins them)."""
        values = [v.decode("latin-1") for k, v in self.headers if k.lower() == name.encode()]
        if not values:
            return None
        return ("; " if name == "cookie" else ", ").join(values)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def scope(self) -> dict[str, Any]:
        path = self.path
        if path is None:
            path = unquote_to_bytes(self.raw_path or b"/").decode("utf-8", "replace")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": self.method,
            "scheme": self.scheme,
            "path": self.root_path + path if self.root_path else path,
            "raw_path": self.raw_path,
            "query_string": self.query,
            "root_path": self.root_path,
            "headers": list(self.headers),
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 443),
            "state": {},
        }
        if self.raw_path is None:
            del scope["raw_path"]
        return scope

    def short(self) -> str:
        """A readable rendering for failure messages."""
        body = self.body
        shown = body if len(body) <= 300 else body[:300] + b"...(%d bytes)" % len(body)
        headers = [(k[:80], v[:200]) for k, v in self.headers[:30]]
        return (
            f"Req(method={self.method!r}, raw_path={(self.raw_path or b'')[:300]!r}, "
            f"query={self.query[:300]!r}, path={self.path!r}, root_path={self.root_path!r},\n"
            f"    headers={headers!r},\n    chunks={len(self.chunks)}, body={shown!r})"
        )


@dataclass
class Reply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.encode():
                return value.decode("latin-1")
        return None

    def header_all(self, name: str) -> list[str]:
        return [v.decode("latin-1") for k, v in self.headers if k.lower() == name.encode()]

    def cookie(self, name: str) -> str | None:
        """The value a Set-Cookie of this reply gives cookie `name` (None: not set)."""
        for header in self.header_all("set-cookie"):
            pair = header.split(";", 1)[0]
            key, _, value = pair.partition("=")
            if key.strip() == name:
                return unquote(value.strip())
        return None

    def json(self) -> Any:
        import json

        return json.loads(self.body)


async def call(app: Any, req: Req) -> Reply:
    """Send `req` to `app` over ASGI; check the message sequence; return the reply."""
    pending = list(req.chunks) or [b""]
    done = asyncio.Event()
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        assert not done.is_set() or message["type"] != "http.response.body", "body after the end"
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    try:
        await asyncio.wait_for(app(req.scope(), receive, send), TIMEOUT)
    finally:
        done.set()
    assert messages, "the app returned without sending a response"
    start, *rest = messages
    assert start["type"] == "http.response.start", start
    status = start["status"]
    assert isinstance(status, int) and 100 <= status <= 599, status
    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
    assert rest and all(m["type"] == "http.response.body" for m in rest), messages
    assert not rest[-1].get("more_body", False), "the response never ended"
    body = b"".join(bytes(m.get("body", b"")) for m in rest)
    return Reply(status, headers, body)


# -- what gets logged -------------------------------------------------------------------


class ErrorLog(logging.Handler):
    """Collects ERROR (and worse) records of the "microweb" loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        records, self.records = self.records, []
        return records


ERROR_LOG = ErrorLog()


@pytest.fixture(scope="session", autouse=True)
def _error_log() -> Iterator[ErrorLog]:
    """One handler on the "microweb" logger, whose records each request takes."""
    logger = logging.getLogger("microweb")
    logger.addHandler(ERROR_LOG)
    yield ERROR_LOG
    logger.removeHandler(ERROR_LOG)


def render(records: list[logging.LogRecord]) -> str:
    out = []
    for record in records:
        out.append(f"{record.name} {record.levelname}: {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            out.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(out)


def _exceptions(records: list[logging.LogRecord]) -> list[BaseException | None]:
    return [r.exc_info[1] if r.exc_info else None for r in records]


# -- the app -----------------------------------------------------------------------------

FUZZ_LIMITS = Limits(
    max_body_size=64 * 1024,
    max_form_fields=50,
    max_form_files=5,
    max_query_params=50,
    max_headers=60,
    max_cookie_bytes=6 * 1024,
)


def plain(value: Any) -> Any:
    """`value` if JSON can carry it as is, else its repr (session values may be any type)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)[:200]


def describe_form(form: Any) -> dict[str, list[Any]]:
    return {
        name: [
            value
            if isinstance(value, str)
            else {"file": value.filename, "size": value.size, "type": value.content_type}
            for value in form.getall(name)
        ]
        for name in form
    }


@dataclass
class Order:
    """What the validator routes check: strings, numbers and a list."""

    item: str
    count: int
    price: float
    tags: list[str] = field(default_factory=list)
    note: str | None = None


def make_static_root(directory: Path) -> str:
    """Files for `/assets/*`: a text file with a gzip sibling, an empty file, a dotfile,
    a directory with an index."""
    (directory / "a.txt").write_bytes(bytes(range(256)) * 4)
    (directory / "a.txt.gz").write_bytes(gzip.compress(bytes(range(256)) * 4))
    (directory / "empty.txt").write_bytes(b"")
    (directory / ".env").write_text("SECRET=1")
    (directory / "docs").mkdir()
    (directory / "docs" / "index.html").write_text("<h1>docs</h1>")
    return str(directory)


def build_app(
    driver: str, *, strict: bool = True, static_root: str | None = None, **options: Any
) -> MicroWeb:
    """The fuzz target: every feature of microweb on one app, for one session driver."""
    app = MicroWeb(strict=strict, limits=FUZZ_LIMITS)
    middleware = session(driver=driver, **options)
    app.use(middleware)
    app.use(csrf(exclude=("/hooks/*",), trusted_origins=("https://partner.example",)))
    app.manager = middleware.manager  # type: ignore[attr-defined]

    # -- routing, query, headers, cookies --
    app.get("/", lambda c: "home")

    @app.get("/users/:id")
    async def user(c: Any) -> Any:
        return {"id": c.req.param("id"), "params": c.req.param()}

    @app.get("/animals/:type?")
    async def animals(c: Any) -> Any:
        return {"type": c.req.param("type")}

    @app.get("/post/:date{[0-9]+}/:title{[a-z]+}")
    async def post(c: Any) -> Any:
        return c.req.param()

    @app.get("/files/:name{.+\\.png}")
    async def files(c: Any) -> Any:
        return c.req.param()

    @app.get("/static/*")
    async def static(c: Any) -> Any:
        return {"path": c.req.path, "url": c.req.url}

    app.get("/wild/*/card", lambda c: "card")

    @app.get("/search")
    async def search(c: Any) -> Any:
        return {"q": c.req.query("q"), "all": c.req.query(), "tags": c.req.queries("tag")}

    @app.get("/echo/headers")
    async def headers(c: Any) -> Any:
        return {
            "all": c.req.header(),
            "agent": c.req.header("User-Agent"),
            "type": c.req.content_type,
            "url": c.req.url,
            "client": c.req.client,
        }

    @app.get("/echo/cookies")
    async def cookies(c: Any) -> Any:
        return {"all": c.req.cookie(), "one": c.req.cookie("a")}

    @app.on("PURGE", "/cache")
    async def purge(c: Any) -> Any:
        return c.body(b"", status=204)

    @app.get("/redirect")
    async def redirect(c: Any) -> Any:
        return c.redirect("/" + (c.req.query("to") or ""))

    if static_root is not None:
        app.get("/assets/*", serve_static(static_root))

    async def valid_order(c: Any) -> Any:
        return asdict(c.req.valid(c.req.query("target") or "json"))

    app.post("/hooks/valid", validator("json", Order), valid_order)
    app.get("/valid", validator("query", Order), lambda c: asdict(c.req.valid("query")))

    # -- bodies: under /hooks/* without CSRF, under /api/* with it --
    body_methods = ["POST", "PUT", "PATCH", "DELETE"]

    async def echo_json(c: Any) -> Any:
        return c.json(await c.req.json())

    async def echo_text(c: Any) -> Any:
        return await c.req.text()

    async def text_length(c: Any) -> Any:
        return {"length": len(await c.req.text())}

    async def echo_form(c: Any) -> Any:
        return describe_form(await c.req.form())

    async def body_length(c: Any) -> Any:
        return {"length": len(await c.req.body())}

    async def everything(c: Any) -> Any:
        # Every parser on one body (bodies can be read more than once); 400s are fine.
        out: dict[str, Any] = {"length": len(await c.req.body())}
        for name, read in [("json", c.req.json), ("text", c.req.text), ("form", c.req.form)]:
            try:
                value = await read()
                out[name] = describe_form(value) if name == "form" else plain(value)
            except HTTPException as err:
                out[name] = err.status
        return out

    for prefix in ("/hooks", "/api"):
        app.on(body_methods, prefix + "/json", echo_json)
        app.on(body_methods, prefix + "/text", echo_text)
        app.on(body_methods, prefix + "/text-length", text_length)
        app.on(body_methods, prefix + "/form", echo_form)
        app.on(body_methods, prefix + "/body", body_length)
        app.on(body_methods, prefix + "/everything", everything)

    # -- sessions --
    @app.get("/session/start")
    async def start(c: Any) -> Any:
        c.get("session").put("marker", c.req.query("marker") or "m")
        return {"token": csrf_token(c)}

    @app.get("/session/show")
    async def show(c: Any) -> Any:
        s = c.get("session")
        return {
            "new": s.is_new,
            "marker": plain(s.get("marker")),
            "user": plain(s.get("user_id")),
            "msg": plain(s.get("msg")),
            "flashed": plain(s.get("_flash.msg")),
            "keys": sorted(s.keys()),
        }

    @app.get("/session/all")
    async def everything_in_session(c: Any) -> Any:
        return {key: plain(value) for key, value in c.get("session").all().items()}

    @app.get("/session/put/:key")
    async def put(c: Any) -> Any:
        c.get("session").put("u_" + c.req.param("key")[:64], (c.req.query("v") or "")[:200])
        return "ok"

    @app.get("/session/forget/:key")
    async def forget(c: Any) -> Any:
        s = c.get("session")
        s.forget("u_" + c.req.param("key"))
        return {"pulled": plain(s.pull("u_" + c.req.param("key") + "x"))}

    @app.get("/session/hits")
    async def hits(c: Any) -> Any:
        s = c.get("session")
        s.push("visits", len(s.get("visits") or []))
        return {"hits": s.increment("hits")}

    @app.get("/session/regenerate")
    async def regenerate(c: Any) -> Any:
        await c.get("session").regenerate()
        return "ok"

    @app.get("/session/invalidate")
    async def invalidate(c: Any) -> Any:
        await c.get("session").invalidate()
        return "ok"

    @app.get("/flash/:msg")
    async def flash(c: Any) -> Any:
        c.get("session").flash("msg", c.req.param("msg")[:100])
        return "ok"

    @app.get("/flash-now/:msg")
    async def flash_now(c: Any) -> Any:
        s = c.get("session")
        s.now("msg", c.req.param("msg")[:100])
        return {"msg": s.get("msg")}

    @app.get("/flash-keep")
    async def keep(c: Any) -> Any:
        s = c.get("session")
        s.reflash()
        s.keep("msg")
        return "ok"

    @app.post("/session/doc")
    async def doc(c: Any) -> Any:
        s = c.get("session")
        value = await c.req.json()
        try:
            s.put("doc", value)
            if c.req.query("keys") and isinstance(value, dict):  # its keys as session keys
                s.put({"k_" + key: item for key, item in list(value.items())[:5]})
        except TypeError as err:  # too deep to store: the documented TypeError
            raise HTTPException(422, str(err)) from None
        except ValueError as err:  # a key with a lone surrogate: the documented ValueError
            raise HTTPException(422, str(err)) from None
        return "ok"

    @app.get("/session/doc")
    async def read_doc(c: Any) -> Any:
        return {"doc": c.get("session").get("doc")}

    # -- auth --
    @app.post("/auth/login")
    async def do_login(c: Any) -> Any:
        await login(c, c.req.query("user") or "ada", c.req.query("role"))
        return {"token": csrf_token(c)}

    @app.post("/auth/logout")
    async def do_logout(c: Any) -> Any:
        await logout(c, everywhere=c.req.query("everywhere") == "1" and driver != "cookie")
        return "bye"

    @app.post("/auth/revoke")
    async def revoke(c: Any) -> Any:
        data = await c.req.json()
        ref = data.get("ref") if isinstance(data, dict) else None
        if not isinstance(ref, str):
            raise HTTPException(400, "Expected {'ref': string}")
        try:
            await logout(c, session=ref)
        except NotImplementedError as err:  # the cookie driver keeps no list
            raise HTTPException(409, str(err)) from None
        return "revoked"

    @app.get("/me", require_auth())
    async def me(c: Any) -> Any:
        return {"user": plain(c.get("session").get("user_id"))}

    @app.get("/admin", require_role("admin"))
    async def admin(c: Any) -> Any:
        return "admin"

    @app.get("/browse", require_auth(redirect_to="/login"))
    async def browse(c: Any) -> Any:
        return "browse"

    app.get("/browse/*", require_auth(redirect_to="/login"), lambda c: "browse " + c.req.path)

    @app.post("/auth/login-and-go")
    async def login_and_go(c: Any) -> Any:
        await login(c, "ada")
        return c.redirect(intended(c), 303)

    @app.delete("/things/:id")
    async def delete_thing(c: Any) -> Any:
        return {"deleted": c.req.param("id")}

    return app


ROUTES = [
    "/",
    "/users/1",
    "/animals",
    "/animals/cat",
    "/post/2024/hello",
    "/files/a.png",
    "/static",
    "/static/a/b",
    "/wild/x/card",
    "/search",
    "/echo/headers",
    "/echo/cookies",
    "/cache",
    "/redirect",
    "/session/show",
    "/session/all",
    "/session/put/k",
    "/session/forget/k",
    "/session/hits",
    "/flash/hi",
    "/flash-now/hi",
    "/flash-keep",
    "/me",
    "/admin",
    "/browse",
    "/things/1",
    "/assets/a.txt",
    "/assets/empty.txt",
    "/assets/docs/",
    "/valid?item=a&count=1&price=2.5",
    "/session/doc",
    *(f"/{p}/{k}" for p in ("hooks", "api") for k in ("json", "text", "form", "body")),
]


# -- environments: one running app per driver ----------------------------------------------


@dataclass
class Sample:
    """A live session: its cookie value, a CSRF token for it and its marker."""

    cookie: str
    token: str
    marker: str


class FuzzEnv:
    """An app for one driver, started on `loop`, with its error log."""

    _markers = itertools.count()

    def __init__(self, driver: str, app: MicroWeb, loop: asyncio.AbstractEventLoop) -> None:
        self.driver = driver
        self.app = app
        self.loop = loop
        self.log = ERROR_LOG
        self.manager = app.manager  # type: ignore[attr-defined]
        self.cookie_name = self.manager.cookie_name
        self._sample: Sample | None = None

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def send(self, req: Req) -> Reply:
        Stats.requests += 1
        self.log.take()  # whatever was logged before this request is not its doing
        reply: Reply = self.run(call(self.app, req))
        Stats.statuses[reply.status] += 1
        return reply

    def check(self, req: Req, reply: Reply) -> Reply:
        """Assert the fuzz property for one request and its reply (see the module doc)."""
        records = self.log.take()
        if reply.status >= 500 or records:
            if self.documented_500(reply, records):
                Stats.documented += 1
                return reply
            raise AssertionError(
                f"[{self.driver}] {reply.status} for\n{req.short()}\n"
                f"body: {reply.body[:300]!r}\nlogged:\n{render(records) or '(nothing)'}"
            )
        if 400 <= reply.status < 500:
            if req.method == "HEAD":
                assert int(reply.header("content-length") or "0") > 0, (req.short(), reply)
            else:
                assert reply.body.strip(), f"empty {reply.status} body for\n{req.short()}"
        for name, value in reply.headers:
            assert name and name == name.strip() and b":" not in name, (name, value)
            assert not any(ch in name + value for ch in b"\r\n\x00"), (name, value)
        return reply

    def documented_500(self, reply: Reply, records: list[logging.LogRecord]) -> bool:
        """The one 500 the contract documents: a cookie-driver session over 4 KB."""
        return (
            self.driver == "cookie"
            and reply.status == 500
            and all(isinstance(e, SessionCookieTooLarge) for e in _exceptions(records))
        )

    def request(self, req: Req) -> Reply:
        return self.check(req, self.send(req))

    def get(self, path: str, cookie: str | None = None, **headers: str) -> Reply:
        raw, _, query = path.partition("?")
        pairs = [(b"host", b"testserver")]
        if cookie is not None:
            pairs.append((b"cookie", f"{self.cookie_name}={quote(cookie, safe='')}".encode()))
        pairs += [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
        return self.request(Req("GET", raw.encode(), query.encode(), pairs))

    def post(self, path: str, cookie: str, token: str) -> Reply:
        raw, _, query = path.partition("?")
        pairs = [
            (b"host", b"testserver"),
            (b"cookie", f"{self.cookie_name}={quote(cookie, safe='')}".encode()),
            (b"x-csrf-token", token.encode()),
        ]
        return self.request(Req("POST", raw.encode(), query.encode(), pairs))

    def sample(self) -> Sample:
        """A live session of this app that fuzz requests are not meant to end."""
        if self._sample is None:
            self._sample = self.new_sample()
        return self._sample

    def new_sample(self, login_as: str | None = None, role: str | None = None) -> Sample:
        """A freshly created live session (logged in when `login_as` is given)."""
        marker = f"m{next(self._markers)}"
        reply = self.get(f"/session/start?marker={marker}")
        cookie = reply.cookie(self.cookie_name)
        assert reply.status == 200 and cookie, reply
        token = reply.json()["token"]
        if login_as is not None:
            query = f"user={login_as}" + (f"&role={role}" if role else "")
            reply = self.post(f"/auth/login?{query}", cookie, token)
            cookie = reply.cookie(self.cookie_name)
            assert reply.status == 200 and cookie, reply
            token = reply.json()["token"]
        return Sample(cookie, token, marker)


@pytest.fixture(scope="session")
def fuzz_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> Any:
    """Run `app`'s ASGI lifespan around the block."""
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield app
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


def driver_options(
    driver: str, request: pytest.FixtureRequest, tmp_path_factory: Any
) -> dict[str, Any]:
    """Session options for `driver`: cookie and file sign their cookie, memory and redis
    do not; file also has an absolute lifetime and redis a fractional idle one."""
    if driver == "cookie":
        return {"secret": [SECRET, "an-older-key"]}
    if driver == "file":
        directory = str(tmp_path_factory.mktemp("fuzz-sessions"))
        return {"secret": SECRET, "directory": directory, "absolute_lifetime": 600}
    if driver == "redis":
        url = request.getfixturevalue("redis_url")
        return {"url": url, "prefix": f"microweb-fuzz:{uuid.uuid4().hex}:", "lifetime": 90.5}
    if driver == "postgres":
        url = request.getfixturevalue("postgres_url")
        return {"url": url, "table": f"microweb_fuzz_{uuid.uuid4().hex[:12]}"}
    if driver == "sqlite":
        return {"url": f"sqlite:///{tmp_path_factory.mktemp('fuzz-sqlite') / 'sessions.db'}"}
    return {}


def _delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextlib.contextmanager
def running_env(
    driver: str, loop: asyncio.AbstractEventLoop, options: dict[str, Any], **app_kwargs: Any
) -> Iterator[FuzzEnv]:
    with tempfile.TemporaryDirectory(prefix="microweb-fuzz-static-") as static:
        app = build_app(driver, static_root=make_static_root(Path(static)), **options, **app_kwargs)
        env = FuzzEnv(driver, app, loop)
        span = lifespan(app)
        loop.run_until_complete(span.__aenter__())
        try:
            yield env
        finally:
            loop.run_until_complete(span.__aexit__(None, None, None))
            if driver == "redis":
                _delete_prefix(options["url"], options["prefix"])
            if driver == "postgres":
                drop_session_tables(options["url"], options["table"])


@pytest.fixture(scope="session", params=DRIVERS)
def fuzz_env(
    request: pytest.FixtureRequest, fuzz_loop: asyncio.AbstractEventLoop, tmp_path_factory: Any
) -> Iterator[FuzzEnv]:
    driver = request.param
    options = driver_options(driver, request, tmp_path_factory)
    with running_env(driver, fuzz_loop, options) as env:
        yield env


@pytest.fixture(scope="session")
def memory_env(fuzz_loop: asyncio.AbstractEventLoop) -> Iterator[FuzzEnv]:
    """The memory-driver app alone, for fuzzing what the driver does not change."""
    with running_env("memory", fuzz_loop, {}) as env:
        yield env


@pytest.fixture(scope="session")
def lenient_env(fuzz_loop: asyncio.AbstractEventLoop) -> Iterator[FuzzEnv]:
    """A `strict=False` app (trailing slashes folded), memory driver."""
    with running_env("memory", fuzz_loop, {}, strict=False) as env:
        yield env


@pytest.fixture(scope="session")
def memory_sample(memory_env: FuzzEnv) -> Sample:
    """A live session of `memory_env` that no fuzz request logs out."""
    return memory_env.sample()


__all__ = [
    "DRIVERS",
    "ODD_TEXT",
    "OTHER_SECRET",
    "ROUTES",
    "SECRET",
    "FuzzEnv",
    "Reply",
    "Req",
    "Sample",
    "call",
    "digit_runs",
    "fuzz_settings",
    "odd_bytes",
    "odd_text",
    "tick",
]
