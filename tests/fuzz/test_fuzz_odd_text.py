"""Fuzz the input classes that once gave 500s, in every place input comes in.

Lone surrogates, characters outside the BMP, Unicode digits (superscripts, Arabic-Indic,
fullwidth) and
runs of digits past Python's 4300-digit `int()` limit (`conftest.odd_text`), put
in JSON keys and values (the CSRF `_token` too), header values (Range, If-Range,
Content-Length, Accept-Encoding, X-CSRF-Token, Authorization, ...), cookies, path
segments, query strings and form fields; on every session driver where the
session is involved. Every request must satisfy `FuzzEnv.check` (no 5xx, nothing
logged at ERROR); JSON stored in the session must also come back the same.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from .conftest import (
    ROUTES,
    FuzzEnv,
    Reply,
    Req,
    Sample,
    digit_runs,
    fuzz_settings,
    odd_bytes,
    odd_text,
    tick,
)

# JSON documents whose strings (keys and values) are odd text, and numbers at the edges.
odd_json = st.recursive(
    st.one_of(
        odd_text,
        st.none(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        digit_runs.map(lambda digits: int(digits[:4300].lstrip("+") or "0")),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(odd_text, children, max_size=3)
    ),
    max_leaves=8,
)
# Bodies JSON cannot parse or that RFC 8259 refuses, made of odd text.
odd_json_texts = st.one_of(
    st.sampled_from([b"NaN", b"[-Infinity]", b"[1e999]", b'{"n": -1e400}', b"1" + b"0" * 400]),
    digit_runs.map(str.encode),
    digit_runs.map(lambda digits: (digits + "e" + digits[-400:]).encode()),
    odd_text.map(lambda text: text.encode("utf-8", "surrogatepass")),  # raw, not escaped
)
JSON_ROUTES = ["/hooks/json", "/api/json", "/hooks/everything", "/api/body"]


def session_headers(env: FuzzEnv, sample: Sample, token: bool = True) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"testserver")]
    headers.append((b"cookie", f"{env.cookie_name}={quote(sample.cookie, safe='')}".encode()))
    if token:
        headers.append((b"x-csrf-token", sample.token.encode()))
    return headers


def post_json(
    env: FuzzEnv, sample: Sample, route: bytes, body: bytes, query: bytes = b"", token: bool = True
) -> Reply:
    """POST `body` as application/json to `route` in `sample`'s session."""
    headers = [*session_headers(env, sample, token), (b"content-type", b"application/json")]
    return env.request(Req("POST", route, query, headers, [body]))


def not_json(constant: str) -> Any:
    raise AssertionError(f"{constant} was accepted as JSON (RFC 8259 has no such value)")


SIGNED_IN: dict[str, Sample] = {}


def signed_in(env: FuzzEnv) -> Sample:
    """A signed-in session of `env`'s app, made once per driver."""
    if env.driver not in SIGNED_IN:
        SIGNED_IN[env.driver] = env.new_sample(login_as="odd")
    return SIGNED_IN[env.driver]


# Numbers at the edges: past a float (an int of 309+ digits), past int()'s digit limit,
# the largest floats, and odd text where a number should be.
edge_numbers = st.one_of(
    digit_runs.map(lambda digits: int(digits[:4300].lstrip("+") or "0")),
    st.sampled_from([10**400, -(10**309), 1.7976931348623157e308, 5e-324, -0.0, 2**63]),
    st.floats(allow_nan=False, allow_infinity=False),
)
GOOD_ORDER = {"item": "tea", "count": 2, "price": 1.5, "tags": ["a"], "note": None}


def order_of(data: Any) -> dict[str, Any]:
    """A validator body: the fields of `Order`, each a good value, an edge number or odd."""
    return {
        name: data.draw(st.one_of(st.just(value), edge_numbers, odd_json))
        for name, value in GOOD_ORDER.items()
    }


@fuzz_settings(40)
@given(value=odd_json, keys=st.booleans())
def test_odd_text_in_json_is_stored_in_the_session_and_comes_back(
    fuzz_env: FuzzEnv, value: Any, keys: bool
) -> None:
    tick()
    env = fuzz_env
    sample = env.new_sample() if env.driver == "cookie" else env.sample()
    body = json.dumps(value).encode()  # ASCII: the odd characters as \uXXXX escapes

    stored = post_json(env, sample, b"/session/doc", body, b"keys=1" if keys else b"")
    if stored.status != 200:  # 422: a key with a lone surrogate; 500: a cookie over 4 KB
        return
    cookie = stored.cookie(env.cookie_name) or sample.cookie
    read = env.request(
        Req("GET", b"/session/doc", b"", session_headers(env, Sample(cookie, "", "")))
    )

    assert read.status == 200
    # What the server read: a surrogate pair written as two escapes reads as one character.
    assert read.json() == {"doc": json.loads(body)}


@fuzz_settings(60)
@given(data=st.data(), value=odd_json, token=st.one_of(odd_text, st.none()))
def test_odd_text_in_json_bodies_and_the_csrf_token_on_every_driver(
    fuzz_env: FuzzEnv, data: Any, value: Any, token: str | None
) -> None:
    tick()
    env = fuzz_env
    route = data.draw(st.sampled_from(JSON_ROUTES))
    if token is not None:  # `_token` in the body, no header: csrf() reads the JSON
        value = {"_token": token, "value": value}
    odd_body = data.draw(st.integers(0, 3)) == 0
    body = data.draw(odd_json_texts) if odd_body else json.dumps(value).encode()
    reply = post_json(env, env.sample(), route.encode(), body, token=token is None)

    if route == "/hooks/json" and reply.status == 200:  # what was accepted was JSON
        assert json.loads(reply.body, parse_constant=not_json) == json.loads(body)


@fuzz_settings(40)
@given(data=st.data(), ref=odd_text)
def test_odd_text_as_a_session_ref_or_flash_on_every_driver(
    fuzz_env: FuzzEnv, data: Any, ref: str
) -> None:
    tick()
    env = fuzz_env
    sample = signed_in(env)  # logout(c, session=ref) compares refs only for a user
    if data.draw(st.booleans()):
        post_json(env, sample, b"/auth/revoke", json.dumps({"ref": ref}).encode())
    else:
        segment = quote(ref.encode("utf-8", "surrogatepass"), safe="").encode()
        route = data.draw(st.sampled_from([b"/flash/", b"/flash-now/", b"/session/put/"]))
        query = b"v=" + data.draw(odd_bytes)
        env.request(Req("GET", route + segment, query, session_headers(env, sample)))


@st.composite
def odd_header_values(draw: Any, name: bytes) -> bytes:
    """An odd value for header `name`, often inside the syntax that header expects."""
    odd = draw(odd_bytes)
    shaped = {
        b"range": [b"bytes=" + odd + b"-", b"bytes=-" + odd, b"bytes=0-" + odd, b"bytes=" + odd],
        b"content-type": [b"application/json; charset=" + odd, odd],
        b"authorization": [b"Bearer " + odd, b"Basic " + odd],
        b"if-modified-since": [b"Mon, 01 Jan " + odd + b" 00:00:00 GMT", odd],
        b"if-range": [b"Mon, 01 Jan " + odd + b" 00:00:00 GMT", b'"' + odd + b'"', odd],
        b"accept-encoding": [b"gzip;q=" + odd, odd + b", gzip"],
    }.get(name, [odd])
    return draw(st.sampled_from(shaped))


STATIC_HEADERS = [b"range", b"if-range", b"if-modified-since", b"if-none-match", b"accept-encoding"]
STATIC_ROUTES = [b"/assets/a.txt", b"/assets/empty.txt", b"/assets/docs/", b"/assets/.env"]


@fuzz_settings(150)
@given(
    data=st.data(),
    route=st.sampled_from(STATIC_ROUTES),
    method=st.sampled_from(["GET", "GET", "HEAD"]),
    names=st.lists(st.sampled_from(STATIC_HEADERS), min_size=1, max_size=3, unique=True),
)
def test_odd_text_in_the_headers_static_files_read(
    memory_env: FuzzEnv, data: Any, route: bytes, method: str, names: list[bytes]
) -> None:
    tick()
    headers = [(b"host", b"testserver")]
    headers += [(name, data.draw(odd_header_values(name))) for name in names]
    memory_env.request(Req(method, route, b"", headers))


@fuzz_settings(100)
@given(data=st.data(), as_json=st.booleans())
def test_edge_numbers_and_odd_text_given_to_validators(
    memory_env: FuzzEnv, data: Any, as_json: bool
) -> None:
    tick()
    order = order_of(data)
    headers = [(b"host", b"testserver")]
    if as_json:
        headers.append((b"content-type", b"application/json"))
        body = json.dumps(order).encode()
        memory_env.request(Req("POST", b"/hooks/valid", b"", headers, [body]))
    else:  # the same values written in a query string, as text
        pairs = [
            (name, value if isinstance(value, str) else json.dumps(value))
            for name, value in order.items()
        ]
        query = "&".join(
            f"{name}={quote(text.encode('utf-8', 'surrogatepass'))}" for name, text in pairs
        )
        memory_env.request(Req("GET", b"/valid", query.encode(), headers))


ODD_HEADERS = [
    b"content-length", b"content-type", b"x-csrf-token", b"authorization", b"accept",
    b"origin", b"sec-fetch-site", b"x-request-id", b"user-agent", b"host",
]  # fmt: skip
BODY_ROUTES = ["/hooks/json", "/hooks/everything", "/api/everything", "/hooks/valid"]


@fuzz_settings(200)
@given(
    data=st.data(),
    route=st.sampled_from(BODY_ROUTES * 3 + ROUTES),
    names=st.lists(st.sampled_from(ODD_HEADERS), min_size=1, max_size=3, unique=True),
)
def test_odd_text_in_header_values(
    memory_env: FuzzEnv, memory_sample: Sample, data: Any, route: str, names: list[bytes]
) -> None:
    tick()
    headers = [(b"host", b"testserver")] if b"host" not in names else []
    headers += [(name, data.draw(odd_header_values(name))) for name in names]
    method = "POST" if route in BODY_ROUTES else data.draw(st.sampled_from(["GET", "POST"]))
    if method == "POST" and b"x-csrf-token" not in names:
        headers += session_headers(memory_env, memory_sample)[1:]
    raw, _, query = route.partition("?")
    body = data.draw(st.sampled_from([b"", b"{}", b"a=1", b'{"item": "a"}']))
    memory_env.request(Req(method, raw.encode(), query.encode(), headers, [body]))


@fuzz_settings(30)
@given(
    data=st.data(),
    pairs=st.lists(st.tuples(odd_bytes, odd_bytes), max_size=4),
    route=st.sampled_from(["/echo/cookies", "/session/show", "/session/hits", "/me"]),
)
def test_odd_text_in_cookies_on_every_driver(
    fuzz_env: FuzzEnv, data: Any, pairs: list[tuple[bytes, bytes]], route: str
) -> None:
    tick()
    env = fuzz_env
    items = [name + b"=" + value for name, value in pairs]
    if data.draw(st.booleans()):  # the session cookie itself holds the odd text
        items.append(env.cookie_name.encode() + b"=" + data.draw(odd_bytes))
    headers = [(b"host", b"testserver"), (b"cookie", b"; ".join(items))]
    env.request(Req("GET", route.encode(), b"", headers))


PATHS = [
    b"/users/%s", b"/post/%s/hello", b"/post/2024/%s", b"/files/%s.png", b"/assets/%s",
    b"/animals/%s", b"/static/%s", b"/things/%s", b"/redirect", b"/valid",
]  # fmt: skip
QUERY_NAMES = [b"q", b"tag", b"v", b"count", b"price", b"item", b"_token"]


@fuzz_settings(200)
@given(
    data=st.data(),
    path=st.sampled_from(PATHS),
    segment=odd_bytes,
    query=st.lists(st.tuples(st.sampled_from(QUERY_NAMES), odd_bytes), max_size=4),
)
def test_odd_text_in_paths_and_queries(
    memory_env: FuzzEnv, data: Any, path: bytes, segment: bytes, query: list[tuple[bytes, bytes]]
) -> None:
    tick()
    raw_path = path.replace(b"%s", segment)
    if path == b"/redirect":  # where to: the odd text, percent-encoded or raw
        query = [(b"to", segment), *query]
    elif path == b"/valid":  # the validator's query: item, count and price, some odd
        query = [(b"item", b"tea"), (b"count", b"2"), (b"price", b"1.5"), *query]
        data.draw(st.randoms()).shuffle(query)
    method = data.draw(st.sampled_from(["GET", "GET", "HEAD", "DELETE"]))
    headers = [(b"host", b"testserver"), (b"accept", b"text/html")]
    memory_env.request(Req(method, raw_path, b"&".join(k + b"=" + v for k, v in query), headers))


@fuzz_settings(100)
@given(
    data=st.data(),
    fields=st.lists(st.tuples(odd_bytes, odd_bytes), min_size=1, max_size=6),
    multipart=st.booleans(),
)
def test_odd_text_in_form_fields_and_the_form_token(
    memory_env: FuzzEnv,
    memory_sample: Sample,
    data: Any,
    fields: list[tuple[bytes, bytes]],
    multipart: bool,
) -> None:
    tick()
    token = data.draw(st.one_of(st.just(memory_sample.token.encode()), odd_bytes))
    fields = [*fields, (b"_token", token)]
    if multipart:
        body = b"".join(
            b'--b\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n' + value + b"\r\n"
            for name, value in fields
        )
        body += b"--b--\r\n"
        content_type = b"multipart/form-data; boundary=b"
    else:
        body = b"&".join(name + b"=" + value for name, value in fields)
        content_type = b"application/x-www-form-urlencoded"
    headers = session_headers(memory_env, memory_sample, token=False)
    headers.append((b"content-type", content_type))
    route = data.draw(st.sampled_from([b"/api/form", b"/api/everything", b"/hooks/form"]))
    memory_env.request(Req("POST", route, b"", headers, [body]))


@fuzz_settings(25)
@given(segment=odd_bytes, query=st.one_of(st.just(b""), odd_bytes.map(lambda b: b"q=" + b)))
def test_odd_text_in_a_guarded_path_is_where_login_sends_you_back_on_every_driver(
    fuzz_env: FuzzEnv, segment: bytes, query: bytes
) -> None:
    tick()
    env = fuzz_env
    sample = env.new_sample()
    headers = [*session_headers(env, sample), (b"accept", b"text/html")]
    sent_away = env.request(Req("GET", b"/browse/" + segment, query, headers))
    if sent_away.status != 302:  # 400: a path or query that is not UTF-8
        return
    cookie = sent_away.cookie(env.cookie_name) or sample.cookie
    headers = session_headers(env, Sample(cookie, sample.token, ""))
    back = env.request(Req("POST", b"/auth/login-and-go", b"", headers))

    assert back.status == 303
    assert (back.header("location") or "").isascii()
