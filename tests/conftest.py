"""Fixtures shared by the whole suite: a fresh app and a client bound to it.

`client` is opened with `with TestClient(app)`, so the lifespan hooks registered
before the test asks for it run; routes may be added to `app` afterwards, up to
the first request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from microweb import MicroWeb
from microweb.testing import TestClient


@pytest.fixture
def app() -> MicroWeb:
    return MicroWeb()


@pytest.fixture
def client(app: MicroWeb) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client
