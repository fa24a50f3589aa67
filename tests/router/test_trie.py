"""TrieRouter: port of Hono's trie-router/node.test.ts (its router.test.ts only runs the common
cases), plus the route-path helpers it relies on (Hono's utils/url.test.ts, routing part)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from microweb.router import TrieRouter
from microweb.router._paths import (
    check_optional_parameter,
    get_pattern,
    split_path,
    split_routing_path,
)
from microweb.router.trie import SegmentNode


def node_with(*routes: tuple[str, str, str]) -> SegmentNode[str]:
    node: SegmentNode[str] = SegmentNode()
    for method, path, handler in routes:
        node.insert(method, path, handler)
    return node


def search(node: SegmentNode[str], method: str, path: str) -> list[tuple[str, dict[str, str]]]:
    entries, stash = node.search(method, path)
    assert stash is None
    return entries


def names(node: SegmentNode[str], method: str, path: str) -> list[str]:
    return [handler for handler, _ in search(node, method, path)]


# Root Node


def test_root_node() -> None:
    node = node_with(("get", "/", "get root"))
    assert names(node, "get", "/") == ["get root"]
    assert search(node, "get", "/hello") == []


def test_root_node_not_defined() -> None:
    node = node_with(("get", "/hello", "get hello"))
    assert search(node, "get", "/") == []


def test_star_matches_everything() -> None:
    node = node_with(("get", "*", "get all"))
    assert names(node, "get", "/") == ["get all"]
    assert names(node, "get", "/hello") == ["get all"]


def test_star_matches_js_reserved_words() -> None:
    node = node_with(("get", "*", "get all"))
    assert names(node, "get", "/hello/constructor") == ["get all"]
    assert names(node, "get", "/hello/__proto__") == ["get all"]


# Get with a suffix wildcard


@pytest.mark.parametrize("path", ["/assets", "/assets-v2", "/assets/app.js"])
def test_suffix_wildcard_matches(path: str) -> None:
    node = node_with(("get", "/assets*", "assets"))
    assert search(node, "get", path) == [("assets", {})]


def test_suffix_wildcard_does_not_match_a_shorter_prefix() -> None:
    node = node_with(("get", "/assets*", "assets"))
    assert search(node, "get", "/asset") == []


def test_suffix_wildcard_prefix_is_literal() -> None:
    node = node_with(("get", "/file.+*", "file"))
    assert search(node, "get", "/file.+js") == [("file", {})]
    assert search(node, "get", "/fileZZjs") == []


def test_suffix_wildcard_registered_after_a_literal_child_of_the_same_key() -> None:
    node = node_with(("get", "/assets*/x", "literal"), ("get", "/assets*", "assets"))
    assert search(node, "get", "/assets/app.js") == [("assets", {})]


# Basic Usage


def _basic() -> SegmentNode[str]:
    return node_with(
        ("get", "/hello", "get hello"),
        ("post", "/hello", "post hello"),
        ("get", "/hello/foo", "get hello foo"),
    )


def test_basic_methods() -> None:
    node = _basic()
    assert search(node, "get", "/") == []
    assert search(node, "post", "/") == []
    assert names(node, "get", "/hello") == ["get hello"]
    assert names(node, "post", "/hello") == ["post hello"]
    assert search(node, "put", "/hello") == []


def test_basic_nothing() -> None:
    assert search(_basic(), "get", "/nothing") == []


def test_basic_nested_static() -> None:
    node = _basic()
    assert names(node, "get", "/hello/foo") == ["get hello foo"]
    assert search(node, "post", "/hello/foo") == []
    assert search(node, "get", "/hello/bar") == []


def test_basic_too_deep() -> None:
    assert search(_basic(), "get", "/hello/foo/bar") == []


# Name path


def _name_path() -> SegmentNode[str]:
    return node_with(
        ("get", "/entry/:id", "get entry"),
        ("get", "/entry/:id/comment/:comment_id", "get comment"),
        ("get", "/map/:location/events", "get events"),
        ("get", "/about/:name/address/map", "get address"),
    )


def test_name_path_one_param() -> None:
    assert search(_name_path(), "get", "/entry/123") == [("get entry", {"id": "123"})]


def test_name_path_partial_route_does_not_match() -> None:
    assert search(_name_path(), "get", "/entry/456/comment") == []


def test_name_path_two_params() -> None:
    assert search(_name_path(), "get", "/entry/789/comment/123") == [
        ("get comment", {"id": "789", "comment_id": "123"})
    ]


def test_name_path_param_between_statics() -> None:
    node = _name_path()
    assert search(node, "get", "/map/yokohama/events") == [("get events", {"location": "yokohama"})]
    assert search(node, "get", "/about/foo/address/map") == [("get address", {"name": "foo"})]


def test_no_param_value_leaks_into_the_next_search() -> None:
    node = node_with(("delete", "/resource/:id", "resource"))
    res_a = search(node, "delete", "/resource/a")
    res_b = search(node, "delete", "/resource/b")
    assert res_a == [("resource", {"id": "a"})]
    assert res_b == [("resource", {"id": "b"})]


def test_results_are_sorted_by_registration() -> None:
    node = node_with(("get", "/resource/a", "A"), ("get", "/resource/*", "Star"))
    assert names(node, "get", "/resource/a") == ["A", "Star"]


def test_name_path_multiple_routes() -> None:
    node = node_with(("get", "/:type/:id", "common"), ("get", "/posts/:id", "specialized"))
    res = search(node, "get", "/posts/123")
    assert [h for h, _ in res] == ["common", "specialized"]
    assert res[0][1]["id"] == "123"
    assert res[1][1]["id"] == "123"


def test_param_prefix() -> None:
    node = node_with(("get", "/:foo", "onepart"), ("get", "/:bar/:baz", "twopart"))
    assert search(node, "get", "/hello") == [("onepart", {"foo": "hello"})]
    assert search(node, "get", "/hello/world") == [("twopart", {"bar": "hello", "baz": "world"})]


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/", []), ("/foo", [("onepart", {"id": "foo"})]), ("/foo/bar", [("onepart", {"id": "foo"})])],
)
def test_named_param_and_a_wildcard(path: str, expected: list[Any]) -> None:
    node = node_with(("get", "/:id/*", "onepart"))
    assert search(node, "get", path) == expected


def test_middle_wildcard() -> None:
    node = node_with(("get", "/wildcard-abc/*/wildcard-efg", "wildcard"))
    assert names(node, "get", "/wildcard-abc/xxxxxx/wildcard-efg") == ["wildcard"]
    node.insert("get", "/wildcard-abc/*/wildcard-efg/hijk", "wildcard")
    assert names(node, "get", "/wildcard-abc/xxxxxx/wildcard-efg/hijk") == ["wildcard"]


def test_regexp_params() -> None:
    node = node_with(
        ("get", "/regex-abc/:id{[0-9]+}/comment/:comment_id{[a-z]+}", "regexp"),
    )
    assert search(node, "get", "/regex-abc/123/comment/abc") == [
        ("regexp", {"id": "123", "comment_id": "abc"})
    ]
    assert search(node, "get", "/regex-abc/abc") == []
    assert search(node, "get", "/regex-abc/123/comment/123") == []


def test_all_method() -> None:
    node = node_with(("ALL", "/all-methods", "all methods"))
    assert names(node, "get", "/all-methods") == ["all methods"]
    assert names(node, "put", "/all-methods") == ["all methods"]


@pytest.mark.parametrize("path", ["/foo", "/hello", "/hello/foo"])
def test_special_wildcard(path: str) -> None:
    node = node_with(("ALL", "*", "match all"))
    assert names(node, "get", path) == ["match all"]


@pytest.mark.parametrize("path", ["/hello", "/hello/foo"])
def test_special_wildcard_deeply(path: str) -> None:
    node = node_with(("ALL", "/hello/*", "match hello"))
    assert names(node, "get", path) == ["match hello"]


def test_default_with_wildcard() -> None:
    node = node_with(("ALL", "/api/*", "fallback"), ("ALL", "/api/abc", "match api"))
    assert names(node, "get", "/api/abc") == ["fallback", "match api"]
    assert names(node, "get", "/api/def") == ["fallback"]


# Multi match


def test_multi_match_basic() -> None:
    node = node_with(
        ("get", "*", "GET *"),
        ("get", "/abc/*", "GET /abc/*"),
        ("get", "/abc/*/edf", "GET /abc/*/edf"),
        ("get", "/abc/edf", "GET /abc/edf"),
        ("get", "/abc/*/ghi/jkl", "GET /abc/*/ghi/jkl"),
    )
    assert names(node, "get", "/abc/edf") == ["GET *", "GET /abc/*", "GET /abc/edf"]
    assert names(node, "get", "/abc/xxx/edf") == ["GET *", "GET /abc/*", "GET /abc/*/edf"]
    assert names(node, "get", "/") == ["GET *"]
    assert names(node, "post", "/") == []
    assert names(node, "get", "/abc/edf/ghi") == ["GET *", "GET /abc/*"]


def _blog() -> SegmentNode[str]:
    return node_with(
        ("get", "*", "middleware a"),
        ("ALL", "*", "middleware b"),
        ("get", "/entry", "get entries"),
        ("post", "/entry/*", "middleware c"),
        ("post", "/entry", "post entry"),
        ("get", "/entry/:id", "get entry"),
        ("get", "/entry/:id/comment/:comment_id", "get comment"),
    )


def test_multi_match_blog() -> None:
    node = _blog()
    assert search(node, "get", "/entry/123") == [
        ("middleware a", {}),
        ("middleware b", {}),
        ("get entry", {"id": "123"}),
    ]
    assert search(node, "get", "/entry/123/comment/456") == [
        ("middleware a", {}),
        ("middleware b", {}),
        ("get comment", {"id": "123", "comment_id": "456"}),
    ]
    assert names(node, "post", "/entry") == ["middleware b", "middleware c", "post entry"]
    assert names(node, "delete", "/entry") == ["middleware b"]


def test_multi_match_all() -> None:
    node = node_with(
        ("ALL", "*", "ALL *"),
        ("ALL", "/abc/*", "ALL /abc/*"),
        ("ALL", "/abc/*/def", "ALL /abc/*/def"),
    )
    assert names(node, "get", "/") == ["ALL *"]
    assert names(node, "post", "/abc") == ["ALL *", "ALL /abc/*"]
    assert names(node, "post", "/abc/xxx/def") == ["ALL *", "ALL /abc/*", "ALL /abc/*/def"]


def test_multi_match_regexp() -> None:
    node = node_with(
        ("get", "/regex-abc/:id{[0-9]+}/*", "middleware a"),
        ("get", "/regex-abc/:id{[0-9]+}/def", "regexp"),
    )
    assert search(node, "get", "/regex-abc/123/def") == [
        ("middleware a", {"id": "123"}),
        ("regexp", {"id": "123"}),
    ]
    assert search(node, "get", "/regex-abc/123/ghi") == [("middleware a", {"id": "123"})]
    assert search(node, "get", "/regex-abc/123") == [("middleware a", {"id": "123"})]


def test_multi_match_trailing_slash() -> None:
    node = node_with(("get", "/book", "GET /book"), ("get", "/book/:id", "GET /book/:id"))
    assert names(node, "get", "/book") == ["GET /book"]
    assert names(node, "get", "/book/") == []


def test_multi_match_same_path() -> None:
    node = node_with(("get", "/hey", "Middleware A"), ("get", "/hey", "Middleware B"))
    assert names(node, "get", "/hey") == ["Middleware A", "Middleware B"]


def test_multi_match_including_slashes() -> None:
    node = node_with(
        ("get", "/js/:filename{[a-z0-9/]+.js}", "any file"), ("get", "/js/main.js", "main.js")
    )
    assert search(node, "get", "/js/main.js") == [
        ("any file", {"filename": "main.js"}),
        ("main.js", {}),
    ]
    assert search(node, "get", "/js/chunk/123.js") == [("any file", {"filename": "chunk/123.js"})]
    assert search(node, "get", "/js/chunk/nest/123.js") == [
        ("any file", {"filename": "chunk/nest/123.js"})
    ]


def test_multi_match_rest_api() -> None:
    node = node_with(
        ("get", "/users/:username{[a-z]+}", "profile"),
        ("get", "/users/:username{[a-z]+}/posts", "posts"),
    )
    assert names(node, "get", "/users/hono") == ["profile"]
    assert names(node, "get", "/users/hono/posts") == ["posts"]


# Duplicate param name


def test_duplicate_param_name_self() -> None:
    node = node_with(("get", "/:id/:id", "foo"))
    assert search(node, "get", "/123/456") == [("foo", {"id": "123"})]


def test_duplicate_param_name_parent() -> None:
    node = node_with(
        ("get", "/:id/:action", "foo"),
        ("get", "/posts/:id", "bar"),
        ("get", "/posts/:id/comments/:comment_id", "comment"),
    )
    assert search(node, "get", "/123/action") == [("foo", {"id": "123", "action": "action"})]


def test_duplicate_param_name_comments() -> None:
    node = node_with(("get", "/posts/:id/comments/:comment_id", "comment"))
    assert search(node, "get", "/posts/abc/comments/edf") == [
        ("comment", {"id": "abc", "comment_id": "edf"})
    ]


def test_duplicate_param_name_child() -> None:
    node = node_with(("get", "/posts/:id", "foo"), ("get", "/:id/:action", "bar"))
    assert search(node, "get", "/posts/action") == [
        ("foo", {"id": "action"}),
        ("bar", {"id": "posts", "action": "action"}),
    ]


def test_duplicate_param_name_regular_expression() -> None:
    node = node_with(
        ("get", "/:id/:action{create|update}", "foo"), ("get", "/:id/:action{delete}", "bar")
    )
    assert search(node, "get", "/123/create") == [("foo", {"id": "123", "action": "create"})]
    assert search(node, "get", "/123/delete") == [("bar", {"id": "123", "action": "delete"})]


# Sort Order


def test_sort_order_basic() -> None:
    node = node_with(("get", "*", "a"), ("get", "/page", "/page"), ("get", "/:slug", "/:slug"))
    assert names(node, "get", "/page") == ["a", "/page", "/:slug"]


def test_sort_order_with_named_path() -> None:
    node = node_with(
        ("get", "*", "a"), ("get", "/posts/:id", "/posts/:id"), ("get", "/:type/:id", "/:type/:id")
    )
    assert names(node, "get", "/posts/123") == ["a", "/posts/:id", "/:type/:id"]


def test_sort_order_with_wildcards() -> None:
    node = node_with(
        ("get", "/api/*", "1st"),
        ("get", "/api/*", "2nd"),
        ("get", "/api/posts/:id", "3rd"),
        ("get", "/api/*", "4th"),
    )
    assert names(node, "get", "/api/posts/123") == ["1st", "2nd", "3rd", "4th"]


def test_sort_order_with_special_wildcard() -> None:
    node = node_with(
        ("get", "/posts", "/posts"),
        ("get", "/posts/*", "/posts/*"),
        ("get", "/posts/:id", "/posts/:id"),
    )
    assert names(node, "get", "/posts") == ["/posts", "/posts/*"]


def test_sort_order_complex() -> None:
    node = node_with(
        ("get", "/api", "a"),  # not match
        ("get", "/api/*", "b"),  # match
        ("get", "/api/:type", "c"),  # not match
        ("get", "/api/:type/:id", "d"),  # match
        ("get", "/api/posts/:id", "e"),  # match
        ("get", "/api/posts/123", "f"),  # match
        ("get", "/*/*/:id", "g"),  # match
        ("get", "/api/posts/*/comment", "h"),  # not match
        ("get", "*", "i"),  # match
        ("get", "*", "j"),  # match
    )
    assert names(node, "get", "/api/posts/123") == ["b", "d", "e", "f", "g", "i", "j"]


def test_sort_order_multi_match() -> None:
    node = node_with(
        ("get", "*", "GET *"),
        ("get", "/abc/*", "GET /abc/*"),
        ("get", "/abc/edf", "GET /abc/edf"),
        ("get", "/abc/*/ghi/jkl", "GET /abc/*/ghi/jkl"),
    )
    assert names(node, "get", "/abc/edf") == ["GET *", "GET /abc/*", "GET /abc/edf"]


def test_sort_order_method_wildcard_then_all_wildcard() -> None:
    node = node_with(("get", "/api/*", "a"), ("get", "/api/entry", "entry"), ("ALL", "/api/*", "b"))
    assert names(node, "get", "/api/entry") == ["a", "entry", "b"]


def test_sort_order_fallback_after_route() -> None:
    node = node_with(
        ("post", "/entry", "post entry"),
        ("post", "/entry/*", "fallback"),
        ("get", "/entry/:id", "get entry"),
    )
    assert names(node, "post", "/entry") == ["post entry", "fallback"]


def test_sort_order_page() -> None:
    node = node_with(("get", "/page", "page"), ("ALL", "/*", "fallback"))
    assert names(node, "get", "/page") == ["page", "fallback"]


# star


def _star() -> SegmentNode[str]:
    return node_with(
        ("get", "/", "/"),
        ("get", "/*", "/*"),
        ("get", "*", "*"),
        ("get", "/x", "/x"),
        ("get", "/x/*", "/x/*"),
    )


def test_star_top() -> None:
    assert names(_star(), "get", "/") == ["/", "/*", "*"]


def test_star_under_a_certain_path() -> None:
    assert names(_star(), "get", "/x") == ["/*", "*", "/x", "/x/*"]


# Routing order With named parameters


def _book() -> SegmentNode[str]:
    return node_with(
        ("get", "/book/a", "no-slug"),
        ("get", "/book/:slug", "slug"),
        ("get", "/book/b", "no-slug-b"),
    )


def test_routing_order_static_before_label() -> None:
    assert search(_book(), "get", "/book/a") == [("no-slug", {}), ("slug", {"slug": "a"})]


def test_routing_order_label_only() -> None:
    assert search(_book(), "get", "/book/foo") == [("slug", {"slug": "foo"})]


def test_routing_order_label_before_static() -> None:
    assert search(_book(), "get", "/book/b") == [("slug", {"slug": "b"}), ("no-slug-b", {})]


# The same name is used for path params


def test_same_param_names_in_routes_of_different_depth() -> None:
    node = node_with(("get", "/:a/:b/:c", "abc"), ("get", "/:a/:b/:c/:d", "abcd"))
    assert search(node, "get", "/1/2/3") == [("abc", {"a": "1", "b": "2", "c": "3"})]


def test_same_param_name_at_different_positions() -> None:
    node = node_with(("get", "/:a", "a"), ("get", "/:b/:a", "ba"))
    assert search(node, "get", "/about/me") == [("ba", {"b": "about", "a": "me"})]


def test_same_param_name_with_tails() -> None:
    node = node_with(("get", "/:id/:id2/comments", "a"), ("get", "/posts/:id/comments", "b"))
    assert search(node, "get", "/posts/123/comments") == [
        ("a", {"id": "posts", "id2": "123"}),
        ("b", {"id": "123"}),
    ]


# Pattern spanning multiple parts


@pytest.mark.parametrize("path", ["/a", "/a/b", "/a/b/c", "/a/b/c/d"])
def test_spanning_pattern_followed_by_wildcard_matches_once(path: str) -> None:
    node = node_with(("get", "/:file{.*}/*", "file"))
    assert names(node, "get", path) == ["file"]


@pytest.mark.parametrize("dirs", ["foo", "foo/bar", "foo/bar/baz", "a/b/c/d"])
def test_spanning_pattern_followed_by_static_part(dirs: str) -> None:
    node = node_with(("get", "/:dirs{.+}/file.html", "file.html"))
    assert search(node, "get", f"/{dirs}/file.html") == [("file.html", {"dirs": dirs})]


# TrieRouter


def test_trie_router_expands_optional_parameters() -> None:
    router: TrieRouter[str] = TrieRouter()
    router.add("GET", "/api/animals/:type?", "animals")
    assert router.match("GET", "/api/animals") == ([("animals", {})], None)
    assert router.match("GET", "/api/animals/dog") == ([("animals", {"type": "dog"})], None)


def test_trie_router_accepts_routes_after_matching() -> None:
    router: TrieRouter[str] = TrieRouter()
    router.add("GET", "/a", "a")
    assert router.match("GET", "/b") == ([], None)
    router.add("GET", "/b", "b")
    assert router.match("GET", "/b") == ([("b", {})], None)


# Route-path helpers (Hono's utils/url.test.ts)


def test_split_path() -> None:
    assert split_path("/") == [""]
    assert split_path("/hello") == ["hello"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", [""]),
        ("/hello", ["hello"]),
        ("*", ["*"]),
        ("/wildcard-abc/*/wildcard-efg", ["wildcard-abc", "*", "wildcard-efg"]),
        ("/map/:location/events", ["map", ":location", "events"]),
        ("/js/:location{[a-z/]+.js}", ["js", ":location{[a-z/]+.js}"]),
        ("/users/:name{[0-9a-zA-Z_-]{3,10}}", ["users", ":name{[0-9a-zA-Z_-]{3,10}}"]),
        ("/users/:@name{[0-9a-zA-Z_-]{3,10}}", ["users", ":@name{[0-9a-zA-Z_-]{3,10}}"]),
        (
            "/users/:dept{\\d+}/:@name{[0-9a-zA-Z_-]{3,10}}",
            ["users", ":dept{\\d+}", ":@name{[0-9a-zA-Z_-]{3,10}}"],
        ),
    ],
)
def test_split_routing_path(path: str, expected: list[str]) -> None:
    assert split_routing_path(path) == expected


def test_get_pattern() -> None:
    assert get_pattern("id") is None
    assert get_pattern("id", "next") is None
    assert get_pattern(":id") == (":id", "id", True)
    assert get_pattern(":id", "next") == (":id", "id", True)
    assert get_pattern(":id{[0-9]+}") == (":id{[0-9]+}", "id", re.compile(r"^[0-9]+\Z", re.ASCII))
    assert get_pattern(":id{[0-9]+}", "next") == (
        ":id{[0-9]+}#next",
        "id",
        re.compile(r"^[0-9]+(?=/next)", re.ASCII),
    )
    assert get_pattern("*") == "*"
    assert get_pattern("*", "next") == "*"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/animals/:type?", ["/api/animals", "/api/animals/:type"]),
        ("/api/animals/type?", None),
        ("/api/animals/:type", None),
        ("/api/animals", None),
        ("/api/:animals?/type", None),
        ("/api/animals/:type?/", None),
        ("/:optional?", ["/", "/:optional"]),
        (
            "/v1/leaderboard/:version?/:platform?",
            ["/v1/leaderboard", "/v1/leaderboard/:version", "/v1/leaderboard/:version/:platform"],
        ),
        ("/api/:version/animal/:type?", ["/api/:version/animal", "/api/:version/animal/:type"]),
        ("/api/:id{[0-9]?}?", ["/api", "/api/:id{[0-9]?}"]),
    ],
)
def test_check_optional_parameter(path: str, expected: list[str] | None) -> None:
    assert check_optional_parameter(path) == expected
