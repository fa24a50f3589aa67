"""SmartRouter: the errors a user can meet (its choice of router is tested with the routers,
in test_reg_exp.py and test_common_cases.py)."""

from __future__ import annotations

import pytest

from microweb.router import RegExpRouter, SmartRouter, TrieRouter


def test_no_router_for_the_routes_says_which_router_refused_which_route() -> None:
    router: SmartRouter[str] = SmartRouter([RegExpRouter()])
    router.add("GET", "/:user/entries", "entries")
    router.add("GET", "/entry/:name", "entry")
    with pytest.raises(RuntimeError) as raised:
        router.match("GET", "/entry/x")
    assert str(raised.value) == (
        "No router of this SmartRouter can serve its routes: "
        "RegExpRouter cannot take the route '/entry/:name'"
    )


def test_a_smart_router_without_routers_says_so() -> None:
    router: SmartRouter[str] = SmartRouter([])
    router.add("GET", "/", "root")
    with pytest.raises(RuntimeError, match="it was given no router"):
        router.match("GET", "/")


def test_a_match_looked_up_before_the_first_match_says_to_look_it_up_again() -> None:
    router: SmartRouter[str] = SmartRouter([RegExpRouter(), TrieRouter()])
    router.add("GET", "/", "root")
    stale = router.match
    assert stale("GET", "/") == ([("root", {})], ())
    assert router.match("GET", "/") == ([("root", {})], ())
    with pytest.raises(RuntimeError, match="already serves its routes with RegExpRouter: look up"):
        stale("GET", "/")
