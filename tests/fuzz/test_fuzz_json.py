"""`compact_json` (responses and session values) writes exactly what
`json.dumps(obj, ensure_ascii=False, separators=(",", ":"))` writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microweb._json import compact_json

from .conftest import fuzz_settings

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities included, as json.dumps writes them
    st.text(),  # lone surrogates, control characters and non-ASCII included
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.one_of(st.text(), st.integers(), st.booleans()), inner, max_size=5)
    ),
    max_leaves=20,
)


@fuzz_settings(400)
@given(values)
def test_compact_json_writes_what_json_dumps_writes(value: Any) -> None:
    assert compact_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_compact_json_names_what_it_cannot_encode() -> None:
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        compact_json({"tags": {1, 2}})


def test_compact_json_refuses_an_object_that_contains_itself() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        compact_json(loop)
