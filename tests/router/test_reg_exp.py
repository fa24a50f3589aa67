"""RegExpRouter: port of Hono's reg-exp-router/router.test.ts (beyond the common cases), the
UnsupportedPathError behind each common case Hono skips for it, and the Python-specific
parts of the port (lazy build, result shape, regex escaping)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from microweb.router import (
    METHOD_ALL,
    RegExpRouter,
    SmartRouter,
    TrieRouter,
    UnsupportedPathError,
    default_router,
    resolve_params,
)

from .conftest import handlers, match


def new_router() -> RegExpRouter[str]:
    return RegExpRouter()


# Return value type


def test_result_is_param_index_map_and_match_object_stash() -> None:
    router = new_router()
    router.add("GET", "/posts/:id", "get post")
    res, stash = router.match("GET", "/posts/1")
    assert res == [("get post", {"id": 1})]
    assert isinstance(stash, re.Match)
    assert stash[1] == "1"


def test_static_result_is_prebuilt_and_shared() -> None:
    router = new_router()
    router.add("GET", "/hello", "hello")
    first = router.match("GET", "/hello")
    assert first == ([("hello", {})], ())
    assert router.match("GET", "/hello") is first


def test_no_match_is_empty_entries() -> None:
    router = new_router()
    router.add("GET", "/posts/:id", "get post")
    assert router.match("GET", "/nope") == ([], ())
    assert router.match("POST", "/posts/1") == ([], ())


# UnsupportedPathError


def _raises_on_second(first: tuple[str, str], second: tuple[str, str]) -> None:
    router = new_router()
    router.add(*first, "first")
    with pytest.raises(UnsupportedPathError):
        router.add(*second, "second")


def test_ambiguous_label_after_static_segment_is_unsupported() -> None:
    _raises_on_second(("GET", "/:user/entries"), ("GET", "/entry/:name"))


def test_same_position_with_different_label_names_is_unsupported() -> None:
    _raises_on_second(("GET", "/:type/:id"), ("GET", "/:class/:id"))


def test_static_segment_under_label_route_is_unsupported_parent() -> None:
    _raises_on_second(("GET", "/:id/:action"), ("GET", "/posts/:id"))


def test_label_route_over_static_segment_is_unsupported_child() -> None:
    _raises_on_second(("GET", "/posts/:id"), ("GET", "/:id/:action"))


def test_static_then_label_at_same_position_is_unsupported() -> None:
    _raises_on_second(("GET", "/reg-exp/router"), ("GET", "/reg-exp/:id"))


def test_static_then_long_label_at_same_position_is_unsupported() -> None:
    _raises_on_second(("GET", "/reg-exp/router"), ("GET", "/reg-exp/:service"))


def test_label_then_static_at_same_position_is_unsupported() -> None:
    _raises_on_second(("GET", "/reg-exp/:id"), ("GET", "/reg-exp/router"))


def test_different_regexps_at_same_position_are_unsupported() -> None:
    _raises_on_second(("GET", "/:id/:action{create|update}"), ("GET", "/:id/:action{delete}"))


def test_all_route_after_a_method_route_conflicts() -> None:
    _raises_on_second(("GET", "/foo/:a"), (METHOD_ALL, "/foo/:b"))


def test_method_route_after_an_all_route_conflicts() -> None:
    _raises_on_second((METHOD_ALL, "/reg-exp/router"), ("GET", "/reg-exp/:id"))


def test_different_methods_do_not_conflict() -> None:
    router = new_router()
    router.add("GET", "/reg-exp/router", "foo")
    router.add("POST", "/reg-exp/:id", "bar")
    assert handlers(router, "GET", "/reg-exp/router") == ["foo"]
    assert handlers(router, "POST", "/reg-exp/router") == ["bar"]


def test_capturing_group_after_prefix_is_unsupported() -> None:
    router = new_router()
    with pytest.raises(UnsupportedPathError):
        router.add("GET", "/foo/:capture{ba(r|z)}", "ok")


# The common cases Hono skips for RegExpRouter: each route set is unsupported (and
# SmartRouter serves it with TrieRouter).

SKIPPED_COMMON_CASES = {
    "Duplicate param name > parent": [("GET", "/:id/:action"), ("GET", "/posts/:id")],
    "Duplicate param name > child": [("GET", "/posts/:id"), ("GET", "/:id/:action")],
    "Capture Group > Complex capturing group > GET request": [("get", "/foo/:capture{ba(r|z)}")],
    "Capture complex multiple directories": [
        ("GET", "/:first{.+}/middle-a/:reference?"),
        ("GET", "/:first{.+}/middle-b/end-c/:uuid"),
        ("GET", "/:first{.+}/middle-b/:digest"),
    ],
    "Complex > Parameter with {.*} regexp": [("GET", "/files/:name{.*}")],
    "Including slashes > GET /js/main.js": [
        ("GET", "/js/:filename{[a-z0-9/]+.js}"),
        ("GET", "/js/main.js"),
    ],
}


@pytest.mark.parametrize(
    "routes", list(SKIPPED_COMMON_CASES.values()), ids=list(SKIPPED_COMMON_CASES)
)
def test_common_cases_skipped_by_hono_raise_unsupported_path(routes: list[tuple[str, str]]) -> None:
    router = new_router()
    with pytest.raises(UnsupportedPathError):
        for method, path in routes:
            router.add(method, path, path)


@pytest.mark.parametrize(
    "routes", list(SKIPPED_COMMON_CASES.values()), ids=list(SKIPPED_COMMON_CASES)
)
def test_smart_router_falls_back_to_trie_for_unsupported_routes(
    routes: list[tuple[str, str]],
) -> None:
    router: SmartRouter[str] = default_router()
    trie: TrieRouter[str] = TrieRouter()
    for method, path in routes:
        router.add(method, path, path)
        trie.add(method, path, path)
    assert match(router, "GET", "/") == match(trie, "GET", "/")
    assert router.name == "SmartRouter + TrieRouter"


def test_smart_router_keeps_reg_exp_router_when_supported() -> None:
    router: SmartRouter[str] = default_router()
    router.add("GET", "/posts/:id", "post")
    assert router.name == "SmartRouter"  # nothing chosen before the first match
    assert match(router, "GET", "/posts/1") == [("post", {"id": "1"})]
    assert router.name == "SmartRouter + RegExpRouter"
    with pytest.raises(RuntimeError):
        router.add("GET", "/late", "late")


# Wildcard after label


def test_tail_wildcard_can_follow_a_label_route() -> None:
    router = new_router()
    router.add("GET", "/api/:x", "label")
    router.add("GET", "/api/*", "wildcard")
    assert handlers(router, "GET", "/api/foo") == ["label", "wildcard"]


@pytest.mark.parametrize("paths", [["/a*", "/a/*"], ["/a/*", "/a*"]])
def test_only_wildcard_precedes_tail_wildcard_whatever_the_order(paths: list[str]) -> None:
    router = new_router()
    for path in paths:
        router.add("GET", path, path)
    assert handlers(router, "GET", "/a")[0] == "/a*"


# Single character regexp pattern


def test_single_char_pattern_captures_where_a_static_path_made_the_node() -> None:
    router = new_router()
    router.add("GET", "/a/c", "static")
    router.add("GET", "/:x{a}/b", "pattern")
    assert match(router, "GET", "/a/b") == [("pattern", {"x": "a"})]


@pytest.mark.parametrize("paths", [["/a", "/:x{a}"], ["/:x{a}", "/a"]])
def test_single_char_pattern_terminal_conflicts_with_static_terminal(paths: list[str]) -> None:
    router = new_router()
    router.add("GET", paths[0], paths[0])
    with pytest.raises(UnsupportedPathError):
        router.add("GET", paths[1], paths[1])


@pytest.mark.parametrize("paths", [["/foo/bar", "/:y{b}"], ["/:y{b}", "/foo/bar"]])
def test_single_char_pattern_coexists_with_static_paths(paths: list[str]) -> None:
    router = new_router()
    for path in paths:
        router.add("GET", path, path)
    assert handlers(router, "GET", "/foo/bar") == ["/foo/bar"]
    assert handlers(router, "GET", "/b") == ["/:y{b}"]


@pytest.mark.parametrize("paths", [["/foo/:p", "/:x{a}"], ["/:x{a}", "/foo/:p"]])
def test_single_char_pattern_coexists_with_dynamic_paths(paths: list[str]) -> None:
    router = new_router()
    for path in paths:
        router.add("GET", path, path)
    assert handlers(router, "GET", "/a") == ["/:x{a}"]
    assert handlers(router, "GET", "/foo/v") == ["/foo/:p"]


def test_single_meta_char_pattern_is_unsupported() -> None:
    router = new_router()
    with pytest.raises(UnsupportedPathError):
        router.add("GET", "/:x{.}", "meta")


def test_label_on_a_node_created_by_a_middle_wildcard_captures() -> None:
    router = new_router()
    router.add("GET", "/w/*/x", "wildcard")
    router.add("GET", "/w/:id/y", "label")
    assert match(router, "GET", "/w/123/y") == [("label", {"id": "123"})]


@pytest.mark.parametrize(
    "paths", [["/v1/name:activate", "/v1/name2"], ["/v1/name2", "/v1/name:activate"]]
)
def test_colon_inside_a_segment_is_static(paths: list[str]) -> None:
    router = new_router()
    for path in paths:
        router.add("GET", path, path)
    assert handlers(router, "GET", "/v1/name:activate") == ["/v1/name:activate"]
    assert handlers(router, "GET", "/v1/name2") == ["/v1/name2"]


# Python port specifics


def test_add_after_first_match_raises() -> None:
    router = new_router()
    router.add("GET", "/", "root")
    assert handlers(router, "GET", "/") == ["root"]
    with pytest.raises(RuntimeError, match="already built"):
        router.add("GET", "/late", "late")


def test_first_match_installs_the_built_matcher_on_the_instance() -> None:
    router = new_router()
    router.add("GET", "/", "root")
    assert "match" not in vars(router)
    assert handlers(router, "GET", "/") == ["root"]
    assert "match" in vars(router)
    assert handlers(router, "GET", "/") == ["root"]


def test_router_without_routes_matches_nothing() -> None:
    router = new_router()
    assert router.match("GET", "/") == ([], ())
    assert router.match("GET", "") == ([], ())


def test_the_marker_of_the_matched_alternative_picks_the_handlers() -> None:
    # Many dynamic routes in one regex: every route must get its own handlers and params.
    router = new_router()
    for i in range(100):
        router.add("GET", f"/r{i}/:a", f"one {i}")
        router.add("GET", f"/r{i}/:a/x/:b", f"two {i}")
        router.add("GET", f"/r{i}/:a/y/:b{{[0-9]+}}/*", f"wild {i}")
    for i in (0, 7, 42, 99):
        assert match(router, "GET", f"/r{i}/A") == [(f"one {i}", {"a": "A"})]
        assert match(router, "GET", f"/r{i}/A/x/B") == [(f"two {i}", {"a": "A", "b": "B"})]
        assert match(router, "GET", f"/r{i}/A/y/12/z") == [(f"wild {i}", {"a": "A", "b": "12"})]
    assert match(router, "GET", "/r1/A/y/zz") == []


def test_pattern_that_can_match_empty_is_not_taken_for_the_marker() -> None:
    # Hono finds the marker with indexOf(''); lastindex is not fooled by an empty param.
    router = new_router()
    router.add("GET", "/e/:p{[a-z]*}/end", "empty ok")
    router.add("GET", "/f/:q", "other")
    assert match(router, "GET", "/e//end") == [("empty ok", {"p": ""})]


@pytest.mark.parametrize("char", list("@#.+?^$|()[]{}\\ ~-&"))
def test_literal_chars_in_dynamic_paths_are_escaped(char: str) -> None:
    # ('*' is not literal: anywhere in a route it is a wildcard)
    router = new_router()
    path = f"/a{char}1/:id"
    router.add("GET", path, "literal")
    assert match(router, "GET", f"/a{char}1/x") == [("literal", {"id": "x"})]
    assert match(router, "GET", "/aZ1/x") == []


def test_wildcards_match_line_terminators_like_trie_router() -> None:
    for router in (new_router(), TrieRouter[str]()):
        router.add("GET", "/api/*", "api")
        router.add("GET", "/x/:id", "x")
        assert handlers(router, "GET", "/api/a\nb") == ["api"]
        assert match(router, "GET", "/x/a\nb") == [("x", {"id": "a\nb"})]
        assert match(router, "GET", "/x/a\n") == [("x", {"id": "a\n"})]


def test_dynamic_match_must_reach_the_end_of_the_path() -> None:
    router = new_router()
    router.add("GET", "/x/:id", "x")
    assert match(router, "GET", "/x/1\n") == [("x", {"id": "1\n"})]
    assert match(router, "GET", "/x/1/") == []


def test_unknown_method_falls_back_to_all_matcher() -> None:
    router = new_router()
    router.add("ALL", "/all/:id", "all")
    router.add("GET", "/get/:id", "get")
    assert match(router, "BREW", "/all/1") == [("all", {"id": "1"})]
    assert match(router, "BREW", "/get/1") == []


def test_params_are_raw() -> None:
    router = new_router()
    router.add("GET", "/p/:name", "p")
    assert match(router, "GET", "/p/a%20b") == [("p", {"name": "a%20b"})]


def test_resolve_params_leaves_unbound_params_out() -> None:
    stash = re.fullmatch(r"/(a)?(b)", "/b")
    assert stash is not None
    assert resolve_params({"x": 1, "y": 2}, stash) == {"y": "b"}
    assert resolve_params({"x": "1"}, None) == {"x": "1"}


def test_resolve_params_decodes_only_when_asked() -> None:
    # raw for the routers' callers; decoded for c.req.param()
    stash = re.fullmatch(r"/(.+)", "/a%20b")
    assert stash is not None
    assert resolve_params({"x": 1}, stash) == {"x": "a%20b"}
    assert resolve_params({"x": 1}, stash, decode=True) == {"x": "a b"}
    assert resolve_params({"x": "a%2Fb"}, None, decode=True) == {"x": "a/b"}


def _all_results_equal(routes: list[tuple[str, str]], requests: list[tuple[str, str]]) -> None:
    reg_exp: RegExpRouter[Any] = RegExpRouter()
    trie: TrieRouter[Any] = TrieRouter()
    for i, (method, path) in enumerate(routes):
        reg_exp.add(method, path, i)
        trie.add(method, path, i)
    for method, path in requests:
        assert match(reg_exp, method, path) == match(trie, method, path), (method, path)


def test_agrees_with_trie_router_on_a_realistic_table() -> None:
    routes = [
        ("ALL", "*"),
        ("GET", "/"),
        ("GET", "/static/*"),
        ("ALL", "/api/*"),
        ("GET", "/api/users"),
        ("POST", "/api/users"),
        ("GET", "/api/users/:id"),
        ("PUT", "/api/users/:id"),
        ("GET", "/api/users/:id/posts/:post_id{[0-9]+}"),
        ("GET", "/api/posts/:slug/*"),
        ("GET", "/api/posts/:slug/comments"),
        ("GET", "/files/:path{.+\\.png}"),
        ("GET", "/opt/:a?/:b?"),
        ("GET", "/assets*"),
    ]
    requests = [
        (method, path)
        for method in ("GET", "POST", "PUT", "DELETE")
        for path in (
            "/",
            "/static",
            "/static/a/b.css",
            "/api",
            "/api/users",
            "/api/users/42",
            "/api/users/42/posts/7",
            "/api/users/42/posts/x",
            "/api/posts/hello",
            "/api/posts/hello/comments",
            "/files/a/b.png",
            "/files/a/b.jpg",
            "/opt",
            "/opt/1",
            "/opt/1/2",
            "/assets",
            "/assets-v2/x",
            "/nothing",
        )
    ]
    _all_results_equal(routes, requests)
