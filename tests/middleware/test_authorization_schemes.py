"""One Authorization policy for basic_auth(), bearer_auth() and jwt(): a header of
another scheme is the same as no header, 401 with the middleware's challenge."""

from __future__ import annotations

import pytest

from microweb.middleware import basic_auth, bearer_auth, jwt

from .conftest import guarded

GUARDS = {
    "basic_auth": (basic_auth(username="u", password="p"), 'Basic realm="Secure Area"'),
    "bearer_auth": (bearer_auth(token="abc"), "Bearer"),
    "jwt": (jwt("a-very-secret-key-of-32-bytes-at-least!", algorithms=["HS256"]), "Bearer"),
}


OTHER_SCHEMES = ["Digest username=u", "Negotiate abc", "Token abc"]
CASES = [
    *[("basic_auth", h) for h in [*OTHER_SCHEMES, "Bearer abc"]],
    *[("bearer_auth", h) for h in [*OTHER_SCHEMES, "Basic dTpw"]],  # dTpw: u:p
    *[("jwt", h) for h in [*OTHER_SCHEMES, "Basic dTpw"]],
]


@pytest.mark.parametrize(("guard", "header"), CASES)
def test_another_scheme_is_401_with_the_challenge(guard: str, header: str) -> None:
    mw, challenge = GUARDS[guard]
    response = guarded(mw).get("/auth/me", headers={"authorization": header})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge
