"""The servers ``benchmarks/throughput.py`` compares; each module exposes one or more ASGI apps.

The basic apps (``app``) serve the same three endpoints:

- ``GET /``            -> ``text/plain`` "Hello, World!"
- ``GET /users/{id}``  -> JSON ``{"id": id, "name": "user"}``
- ``POST /echo``       -> the JSON request body, parsed and serialised again

Session apps serve ``GET /session`` -> ``{"visits": n}`` (n counted in the session), and
middleware apps serve ``GET /`` behind five no-op middlewares. ``SERVERS`` and ``SERVES`` in
``benchmarks/throughput.py`` say which app is measured on which row.
"""
