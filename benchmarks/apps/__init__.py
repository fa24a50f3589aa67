"""The servers ``benchmarks/http.py`` compares; each module exposes an ASGI ``app``.

Every app serves the same three endpoints:

- ``GET /``            -> ``text/plain`` "Hello, World!"
- ``GET /users/{id}``  -> JSON ``{"id": id, "name": "user"}``
- ``POST /echo``       -> the JSON request body, parsed and serialised again
"""
