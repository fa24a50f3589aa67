"""RegExpRouter, a port of Hono's (src/router/reg-exp-router/), file for file:

- `node.py` (node.ts): the token trie that writes the regex source.
- `builder.py` (trie.ts): tokenizes route paths into that trie and compiles its regex.
- `matcher.py` (matcher.ts): a method's matcher, and the `match` of the hot path.
- `router.py` (router.ts): RegExpRouter itself: `add`, and building the matchers.
- `buckets.py` (microweb's own): many dynamic paths split into smaller regexes.

This package only re-exports.
"""

from .router import RegExpRouter

__all__ = ["RegExpRouter"]
