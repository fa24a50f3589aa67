"""Flash data ages like Laravel's: readable during the next request only."""

from __future__ import annotations

from microweb.testing import TestClient


def test_flash_survives_exactly_one_request(client: TestClient) -> None:
    client.get("/flash/message/saved")
    assert client.get("/get/message").json() == {"value": "saved"}
    assert client.get("/get/message").json() == {"value": None}


def test_flash_is_readable_with_the_flash_prefix_in_the_next_request(client: TestClient) -> None:
    client.get("/flash/message/saved")
    assert client.get("/get/_flash.message").json() == {"value": "saved"}


def test_flash_is_not_consumed_by_requests_that_do_not_use_the_session(
    client: TestClient,
) -> None:
    client.get("/flash/message/saved")
    client.get("/plain")
    assert client.get("/get/message").json() == {"value": "saved"}


def test_flash_is_gone_after_the_next_request_that_uses_the_session(
    client: TestClient,
) -> None:
    client.get("/flash/a/1")
    client.get("/flash/b/2")  # uses the session: the last request to see a
    assert client.get("/get/a").json() == {"value": None}


def test_reflash_keeps_all_flash_data_one_more_request(client: TestClient) -> None:
    client.get("/flash-each/a,b")
    client.get("/reflash")  # the next request: would be the last one to see a and b
    assert client.get("/get/a").json() == {"value": "A"}
    assert client.get("/get/b").json() == {"value": None}  # the last request used it up
    assert client.get("/get/a").json() == {"value": None}


def test_keep_keeps_only_the_given_flash_keys(client: TestClient) -> None:
    client.get("/flash-each/a,b")
    client.get("/keep/a")
    assert client.get("/get/_flash.a").json() == {"value": "A"}
    assert client.get("/get/b").json() == {"value": None}


def test_now_is_readable_in_this_request_only(client: TestClient) -> None:
    assert client.get("/now/notice/hello").json() == {"value": "hello"}
    assert client.get("/get/notice").json() == {"value": None}


def test_flashing_again_renews_the_value_for_the_next_request(client: TestClient) -> None:
    client.get("/flash/message/first")
    client.get("/flash/message/second")
    assert client.get("/get/message").json() == {"value": "second"}
    assert client.get("/get/message").json() == {"value": None}
