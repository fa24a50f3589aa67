"""jwt(): PyJWT behind a fixed policy: algorithms required, expiry required, fixed messages."""

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

from microweb.middleware import jwt

from .conftest import guarded

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
    ("bad", "message"),
    [
        (token({"sub": "x"}, key="another-secret-key-of-32-bytes-long!!"), "Invalid token"),
        (token({"sub": "x", "exp": int(time.time()) - 60}), "Invalid token: expired"),
        # a day ahead: made at collection
        (token({"sub": "x", "nbf": int(time.time()) + 86400}), "Invalid token: not yet valid"),
        ("not.a.token", "Invalid token"),
        (pyjwt.encode({"sub": "x"}, None, algorithm="none"), "Invalid token"),  # type: ignore[arg-type]
    ],
    ids=["wrong-key", "expired", "not-yet", "garbage", "alg-none"],
)
def test_jwt_invalid_tokens_are_401_invalid_token(bad: str, message: str) -> None:
    response = guarded(jwt(SECRET, algorithms=["HS256"])).get(
        "/auth/me", headers={"authorization": f"Bearer {bad}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.text == message  # microweb's words, never PyJWT's reason


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


def test_jwt_missing_token_is_401_with_the_bare_challenge() -> None:
    response = guarded(jwt(SECRET, algorithms=["HS256"])).get("/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"  # no error code: RFC 6750 3.1


@pytest.mark.parametrize("header", ["Bearer", "Bearer   "])
def test_jwt_a_bare_bearer_is_an_invalid_token(header: str) -> None:
    response = guarded(jwt(SECRET, algorithms=["HS256"])).get(
        "/auth/me", headers={"authorization": header}
    )
    assert (response.status_code, response.text) == (401, "Invalid token")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


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
