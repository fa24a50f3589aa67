"""Tagged JSON: every supported type round-trips, alone and nested."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from microweb.sessions.serializer import MAX_DEPTH, decode, encode

VALUES = [
    None,
    True,
    42,
    3.5,
    "héllo",
    [1, "two", None],
    {"a": {"b": [1, 2]}},
    datetime(2024, 5, 1, 12, 30, 15, 123456),
    datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5))),
    date(2024, 5, 1),
    UUID("12345678-1234-5678-1234-567812345678"),
    Decimal("10.50"),
    b"\x00\xffbytes",
    {1, 2, 3},
    frozenset({"a", "b"}),
    (1, "two", (3, 4)),
    {1: "int keys", (2, 3): "tuple keys"},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_value_round_trips_with_its_type(value: object) -> None:
    result = decode(encode("k", value))
    assert result == value
    assert type(result) is type(value)


def test_nested_values_round_trip_with_their_types() -> None:
    value = {
        "when": [datetime(2024, 1, 2, 3, 4, 5), date(2024, 1, 2)],
        "ids": {uuid4(), uuid4()},
        "money": {"total": Decimal("1.10"), "parts": (Decimal("0.10"), Decimal("1"))},
        "raw": [b"abc", {"deeper": b"\x01"}],
    }
    assert decode(encode("k", value)) == value


def test_user_dict_with_the_tag_key_round_trips() -> None:
    value = {"__t": "dt", "v": "2024-01-01T00:00:00", "nested": {"__t": "u"}}
    assert decode(encode("k", value)) == value


def test_encoding_is_compact_json() -> None:
    text = encode("k", {"a": [1, 2], "b": "é"})
    assert text == '{"a":[1,2],"b":"é"}'
    assert json.loads(text) == {"a": [1, 2], "b": "é"}


def test_equal_sets_encode_identically() -> None:
    assert encode("k", {"b", "a", "c"}) == encode("k", {"c", "b", "a"})


def test_unstorable_value_is_a_type_error_naming_the_key() -> None:
    with pytest.raises(TypeError, match=r"'cart'.*object"):
        encode("cart", object())


def test_unstorable_nested_value_names_the_key_and_the_path() -> None:
    with pytest.raises(TypeError, match=r"'cart' cannot be stored \(at cart\.items\[1\]\)"):
        encode("cart", {"items": [1, object()]})


def test_self_containing_value_is_a_type_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="'k'"):
        encode("k", loop)


def test_value_nested_past_the_depth_limit_is_a_type_error_and_at_it_round_trips() -> None:
    def nested(levels: int) -> list[object]:
        value: list[object] = []
        for _ in range(levels - 1):
            value = [value]
        return value

    deepest = nested(MAX_DEPTH)
    assert decode(encode("k", deepest)) == deepest
    with pytest.raises(TypeError, match=f"'k'.*deeper than {MAX_DEPTH} levels"):
        encode("k", nested(MAX_DEPTH + 1))
