"""basic_auth(), bearer_auth() and jwt(): Hono's cases and RFC 6750's error codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from microweb import MicroWeb
from microweb.middleware import basic_auth, bearer_auth, jwt
from microweb.testing import TestClient


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


def guarded(mw: object) -> TestClient:
    app = MicroWeb()
    app.use("/auth/*", mw)  # type: ignore[arg-type]

    @app.get("/auth/me")
    async def me(c):  # type: ignore[no-untyped-def]
        return {
            "user": c.get("user"),
            "token": c.get("token"),
            "payload": c.get("jwt_payload"),
        }

    @app.get("/open")
    async def open_(c):  # type: ignore[no-untyped-def]
        return "open"

    return TestClient(app)


# -- basic ---------------------------------------------------------------------------


def test_basic_auth_lets_the_right_user_in_and_names_them() -> None:
    client = guarded(basic_auth(username="hono", password="acoolproject"))
    response = client.get("/auth/me", headers=basic("hono", "acoolproject"))
    assert response.status_code == 200
    assert response.json()["user"] == "hono"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("hono", "wrong"),
        basic("other", "acoolproject"),
        {"authorization": "Basic !!!not-base64"},
        {"authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()},
        {"authorization": "Bearer abc"},
    ],
    ids=["none", "wrong-password", "wrong-user", "bad-base64", "no-colon", "not-utf8", "scheme"],
)
def test_basic_auth_refuses_with_a_challenge(headers: dict[str, str]) -> None:
    client = guarded(basic_auth(username="hono", password="acoolproject", realm="Hono"))
    response = client.get("/auth/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Hono"'


def test_basic_auth_with_several_users_and_a_password_containing_colons() -> None:
    client = guarded(basic_auth(users={"a": "1", "b": "x:y:z"}))
    assert client.get("/auth/me", headers=basic("b", "x:y:z")).json()["user"] == "b"
    assert client.get("/auth/me", headers=basic("a", "x:y:z")).status_code == 401


def test_basic_auth_verify_may_be_async() -> None:
    async def verify(user: str, password: str, c: object) -> bool:
        return user == "dyn" and password == "amic"

    client = guarded(basic_auth(verify=verify))
    assert client.get("/auth/me", headers=basic("dyn", "amic")).status_code == 200
    assert client.get("/auth/me", headers=basic("dyn", "nope")).status_code == 401


def test_basic_auth_leaves_other_paths_alone() -> None:
    client = guarded(basic_auth(username="a", password="b"))
    assert client.get("/open").text == "open"


def test_basic_auth_needs_credentials_at_startup() -> None:
    with pytest.raises(ValueError, match="username and password"):
        basic_auth()
    with pytest.raises(ValueError, match="both"):
        basic_auth(username="only")


# -- bearer --------------------------------------------------------------------------


def test_bearer_auth_right_token_passes() -> None:
    client = guarded(bearer_auth(token="abc.def-ghi"))
    response = client.get("/auth/me", headers={"authorization": "Bearer abc.def-ghi"})
    assert response.status_code == 200
    assert response.json()["token"] == "abc.def-ghi"


def test_bearer_auth_without_a_header_is_401_without_an_error_code() -> None:
    response = guarded(bearer_auth(token="abc", realm="api")).get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("value", ["Basic abc", "Bearer", "Bearer  ", "Bearer a b", "Bearer ab!c"])
def test_bearer_auth_malformed_header_is_400_invalid_request(value: str) -> None:
    response = guarded(bearer_auth(token="abc")).get("/auth/me", headers={"authorization": value})
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_request"'


def test_bearer_auth_wrong_token_is_401_invalid_token() -> None:
    response = guarded(bearer_auth(tokens=["one", "two"], realm="api")).get(
        "/auth/me", headers={"authorization": "Bearer three"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


def test_bearer_auth_verify_function() -> None:
    client = guarded(bearer_auth(verify=lambda token, c: token.startswith("ok-")))
    assert client.get("/auth/me", headers={"authorization": "Bearer ok-1"}).status_code == 200
    assert client.get("/auth/me", headers={"authorization": "Bearer no-1"}).status_code == 401


# -- jwt -----------------------------------------------------------------------------

SECRET = "a-very-secret-key-of-32-bytes-at-least!"


def token(payload: dict[str, object], key: object = SECRET, algorithm: str = "HS256") -> str:
    """A token for `payload`, expiring in an hour unless the payload says otherwise
    (`"exp": None` leaves the claim out)."""
    claims = {"exp": int(time.time()) + 3600, **payload}
    if claims["exp"] is None:
        del claims["exp"]
    return pyjwt.encode(claims, key, algorithm=algorithm)  # type: ignore[arg-type]


def test_jwt_valid_token_exposes_its_payload() -> None:
    client = guarded(jwt(SECRET, algorithms=["HS256"]))
    response = client.get(
        "/auth/me", headers={"authorization": f"Bearer {token({'sub': 'alice'})}"}
    )
    assert response.status_code == 200
    assert response.json()["payload"]["sub"] == "alice"


def test_jwt_from_a_cookie() -> None:
    client = guarded(jwt(SECRET, algorithms=["HS256"], cookie="access"))
    response = client.get("/auth/me", headers={"cookie": f"access={token({'sub': 'bob'})}"})
    assert response.json()["payload"]["sub"] == "bob"


@pytest.mark.parametrize(
    "bad",
    [
        token({"sub": "x"}, key="another-secret-key-of-32-bytes-long!!"),
        token({"sub": "x", "exp": int(time.time()) - 60}),
        token({"sub": "x", "nbf": int(time.time()) + 86400}),  # a day: made at collection
        "not.a.token",
        pyjwt.encode({"sub": "x"}, None, algorithm="none"),  # type: ignore[arg-type]
    ],
    ids=["wrong-key", "expired", "not-yet", "garbage", "alg-none"],
)
def test_jwt_invalid_tokens_are_401_invalid_token(bad: str) -> None:
    response = guarded(jwt(SECRET, algorithms=["HS256"])).get(
        "/auth/me", headers={"authorization": f"Bearer {bad}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_jwt_a_token_without_exp_is_401_by_default() -> None:
    forever = token({"sub": "alice", "exp": None})

    response = guarded(jwt(SECRET, algorithms=["HS256"])).get(
        "/auth/me", headers={"authorization": f"Bearer {forever}"}
    )

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert 'missing the "exp" claim' in response.text


def test_jwt_require_empty_accepts_a_token_without_exp() -> None:
    forever = token({"sub": "alice", "exp": None})

    response = guarded(jwt(SECRET, algorithms=["HS256"], require=[])).get(
        "/auth/me", headers={"authorization": f"Bearer {forever}"}
    )

    assert response.status_code == 200
    assert response.json()["payload"] == {"sub": "alice"}


def test_jwt_require_names_every_claim_a_token_must_carry() -> None:
    client = guarded(jwt(SECRET, algorithms=["HS256"], require=["exp", "sub"]))
    with_sub = {"authorization": f"Bearer {token({'sub': 'alice'})}"}
    without_sub = {"authorization": f"Bearer {token({'name': 'alice'})}"}

    assert client.get("/auth/me", headers=with_sub).status_code == 200
    refused = client.get("/auth/me", headers=without_sub)
    assert refused.status_code == 401
    assert 'missing the "sub" claim' in refused.text


@pytest.mark.parametrize("require", ["exp", [""], [1]])
def test_jwt_require_is_checked_at_startup(require: object) -> None:
    with pytest.raises(ValueError, match="require"):
        jwt(SECRET, algorithms=["HS256"], require=require)  # type: ignore[arg-type]


def test_jwt_missing_token_is_401() -> None:
    assert guarded(jwt(SECRET, algorithms=["HS256"])).get("/auth/me").status_code == 401


def test_jwt_audience_and_issuer_are_checked() -> None:
    client = guarded(jwt(SECRET, algorithms=["HS256"], audience="api", issuer="me"))
    good = token({"aud": "api", "iss": "me"})
    wrong = token({"aud": "other", "iss": "me"})
    assert client.get("/auth/me", headers={"authorization": f"Bearer {good}"}).status_code == 200
    assert client.get("/auth/me", headers={"authorization": f"Bearer {wrong}"}).status_code == 401


def test_jwt_algorithm_confusion_is_refused() -> None:
    """An RS256 app must not accept an HS256 token signed with its public key."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    client = guarded(jwt(public_pem, algorithms=["RS256"]))
    genuine = token({"sub": "a"}, key=private, algorithm="RS256")
    assert client.get("/auth/me", headers={"authorization": f"Bearer {genuine}"}).status_code == 200

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "attacker"}).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
    forged = f"{header}.{body}.{signature}"
    assert client.get("/auth/me", headers={"authorization": f"Bearer {forged}"}).status_code == 401


@pytest.mark.parametrize(
    ("algorithms", "message"),
    [([], "required"), (["none"], "none"), ("HS256", "a list"), (["HS256", "RS256"], "mixing")],
)
def test_jwt_algorithms_are_checked_at_startup(algorithms: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        jwt(SECRET, algorithms=algorithms)  # type: ignore[arg-type]
