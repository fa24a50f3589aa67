"""The request `c.req`: method, path, url, query, headers, cookies, body, form, client."""

from __future__ import annotations

from microweb import UploadFile

# -- method, path, url ---------------------------------------------------------------


def test_method_and_path(app, client):
    app.post("/orders/:id", lambda c: {"method": c.req.method, "path": c.req.path})

    assert client.post("/orders/5").json() == {"method": "POST", "path": "/orders/5"}


def test_url_is_the_full_url_with_query(app, client):
    app.get("/search", lambda c: c.req.url)

    assert client.get("/search?q=cats&page=2").text == "https://testserver/search?q=cats&page=2"


def test_url_without_query_has_no_question_mark(app, client):
    app.get("/plain", lambda c: c.req.url)

    assert client.get("/plain").text == "https://testserver/plain"


# -- query -------------------------------------------------------------------------------


def test_query_returns_one_value_by_name(app, client):
    app.get("/", lambda c: {"q": c.req.query("q"), "missing": c.req.query("nope")})

    assert client.get("/?q=hello%20world").json() == {"q": "hello world", "missing": None}


def test_query_without_a_name_returns_first_values(app, client):
    app.get("/", lambda c: c.req.query())

    assert client.get("/?a=1&b=2&a=3").json() == {"a": "1", "b": "2"}


def test_queries_returns_every_value_in_order(app, client):
    app.get("/", lambda c: {"tags": c.req.queries("tag"), "none": c.req.queries("x")})

    assert client.get("/?tag=a&other=1&tag=b&tag=c").json() == {
        "tags": ["a", "b", "c"],
        "none": [],
    }


def test_query_keeps_blank_values(app, client):
    app.get("/", lambda c: {"a": c.req.query("a"), "b": c.req.query("b"), "all": c.req.query()})

    assert client.get("/?a=&b").json() == {"a": "", "b": "", "all": {"a": "", "b": ""}}


def test_query_plus_is_a_space_and_unicode_is_decoded(app, client):
    app.get("/", lambda c: c.req.query("q"))

    assert client.get("/?q=a+b%E2%9C%93").text == "a b\u2713"


# -- headers -------------------------------------------------------------------------------


def test_header_is_case_insensitive(app, client):
    app.get("/", lambda c: [c.req.header("X-Custom"), c.req.header("x-custom")])

    assert client.get("/", headers={"X-CUSTOM": "value"}).json() == ["value", "value"]


def test_missing_header_is_none(app, client):
    app.get("/", lambda c: {"h": c.req.header("x-missing")})

    assert client.get("/").json() == {"h": None}


def test_header_without_a_name_returns_all_with_lowercase_names(app, client):
    app.get("/", lambda c: c.req.header())

    headers = client.get("/", headers={"X-One": "1", "Accept": "text/plain"}).json()

    assert headers["x-one"] == "1"
    assert headers["accept"] == "text/plain"
    assert headers["host"] == "testserver"


# -- cookies -------------------------------------------------------------------------------


def test_cookie_by_name(app, client):
    app.get("/", lambda c: {"theme": c.req.cookie("theme"), "none": c.req.cookie("nope")})

    response = client.get("/", headers={"Cookie": "theme=dark; lang=en"})

    assert response.json() == {"theme": "dark", "none": None}


def test_cookie_without_a_name_returns_all(app, client):
    app.get("/", lambda c: c.req.cookie())

    assert client.get("/", headers={"Cookie": "a=1; b=2"}).json() == {"a": "1", "b": "2"}


def test_cookie_values_are_percent_decoded(app, client):
    app.get("/", lambda c: c.req.cookie("v"))

    assert client.get("/", headers={"Cookie": "v=a%20b%3B"}).text == "a b;"


# -- body ------------------------------------------------------------------------------------


def test_body_returns_raw_bytes(app, client):
    @app.post("/")
    async def handler(c):
        return await c.req.body()

    assert client.post("/", content=b"\x00\x01binary").content == b"\x00\x01binary"


def test_text_decodes_utf8_by_default(app, client):
    @app.post("/")
    async def handler(c):
        return await c.req.text()

    assert client.post("/", content="caf\u00e9".encode()).text == "caf\u00e9"


def test_text_uses_the_charset_of_the_content_type(app, client):
    @app.post("/")
    async def handler(c):
        return await c.req.text()

    response = client.post(
        "/", content=b"caf\xe9", headers={"content-type": "text/plain; charset=latin-1"}
    )

    assert response.text == "caf\u00e9"


def test_json_parses_the_body(app, client):
    @app.post("/")
    async def handler(c):
        data = await c.req.json()
        return {"got": data}

    assert client.post("/", json={"a": [1, 2]}).json() == {"got": {"a": [1, 2]}}


def test_json_body_can_be_read_again_in_any_order(app, client):
    @app.post("/")
    async def handler(c):
        first = await c.req.json()
        raw = await c.req.body()
        text = await c.req.text()
        again = await c.req.json()
        return {"first": first, "raw": raw.decode(), "text": text, "again": again}

    result = client.post("/", content='{"x": 1}', headers={"content-type": "application/json"})

    assert result.json() == {
        "first": {"x": 1},
        "raw": '{"x": 1}',
        "text": '{"x": 1}',
        "again": {"x": 1},
    }


def test_body_read_by_middleware_is_readable_again_by_the_handler(app, client):
    async def peek(c, next):
        c.set("seen", await c.req.text())
        await next()

    app.use(peek)

    @app.post("/")
    async def handler(c):
        form = await c.req.form()
        return {"mw": c.get("seen"), "form": dict(form)}

    response = client.post("/", form={"a": "1"})

    assert response.json() == {"mw": "a=1", "form": {"a": "1"}}


def test_form_then_body_then_text_then_form(app, client):
    @app.post("/")
    async def handler(c):
        form = await c.req.form()
        raw = await c.req.body()
        text = await c.req.text()
        again = await c.req.form()
        return {"form": dict(form), "raw": raw.decode(), "text": text, "again": dict(again)}

    result = client.post("/", form={"name": "ann", "city": "Paris"}).json()

    assert result["form"] == result["again"] == {"name": "ann", "city": "Paris"}
    assert result["raw"] == result["text"] == "name=ann&city=Paris"


def test_urlencoded_form_values_are_decoded(app, client):
    @app.post("/")
    async def handler(c):
        form = await c.req.form()
        return form["q"]

    response = client.post(
        "/",
        content="q=a+b%E2%9C%93",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.text == "a b\u2713"


def test_form_getall_returns_every_value(app, client):
    @app.post("/")
    async def handler(c):
        form = await c.req.form()
        return {"first": form["tag"], "all": form.getall("tag"), "none": form.getall("x")}

    response = client.post("/", form={"tag": ["red", "green", "blue"]})

    assert response.json() == {"first": "red", "all": ["red", "green", "blue"], "none": []}


def test_form_missing_field_is_absent(app, client):
    @app.post("/")
    async def handler(c):
        form = await c.req.form()
        return {"has": "x" in form, "get": form.get("x", "default")}

    assert client.post("/", form={"a": "1"}).json() == {"has": False, "get": "default"}


def test_multipart_form_with_a_file(app, client):
    @app.post("/upload")
    async def upload(c):
        form = await c.req.form()
        file = form["document"]
        assert isinstance(file, UploadFile)
        return {
            "title": form["title"],
            "filename": file.filename,
            "type": file.content_type,
            "data": (await file.read()).decode(),
            "size": file.size,
        }

    response = client.post(
        "/upload",
        form={"title": "Report", "document": ("report.txt", b"hello file", "text/plain")},
    )

    assert response.json() == {
        "title": "Report",
        "filename": "report.txt",
        "type": "text/plain",
        "data": "hello file",
        "size": 10,
    }


def test_multipart_file_keeps_binary_content(app, client):
    payload = bytes(range(256)) * 4

    @app.post("/upload")
    async def upload(c):
        form = await c.req.form()
        return form["blob"].data

    response = client.post(
        "/upload", form={"blob": ("blob.bin", payload, "application/octet-stream")}
    )

    assert response.content == payload


def test_multipart_form_getall_with_several_files(app, client):
    @app.post("/upload")
    async def upload(c):
        form = await c.req.form()
        return [f.filename for f in form.getall("files")]

    response = client.post(
        "/upload",
        form={"files": [("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain")]},
    )

    assert response.json() == ["a.txt", "b.txt"]


def test_multipart_body_can_be_read_again(app, client):
    @app.post("/upload")
    async def upload(c):
        form = await c.req.form()
        raw = await c.req.body()
        again = await c.req.form()
        return {"same": form["title"] == again["title"], "raw_has_title": b"Report" in raw}

    response = client.post("/upload", form={"title": "Report", "f": ("f.txt", b"x", "text/plain")})

    assert response.json() == {"same": True, "raw_has_title": True}


# -- client ----------------------------------------------------------------------------------


def test_client_is_the_peer_address(app, client):
    app.get("/", lambda c: list(c.req.client))

    host, port = client.get("/").json()

    assert host == "127.0.0.1"
    assert isinstance(port, int)
