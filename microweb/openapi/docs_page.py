"""`openapi_routes(app, ...)`: a sub-app serving the document and a Swagger UI page for it.

Rules:
- `path` serves the document as JSON. It is built on the first request (so routes
  registered after the call are in it) and kept; the sub-app's own routes are not in it.
- `docs` serves Swagger UI 5 (it renders OpenAPI 3.1; 4.x cannot) from the files the
  `swagger-ui-py` package ships (the `microweb[docs]` extra), found when the page is
  first asked for and served by the app itself under `docs` + "/": nothing loads from
  outside the app, so the page works offline.
- Every script of the page carries the request's CSP nonce (`csp_nonce`), so the page
  works under `secure_headers(content_security_policy=...)` with `NONCE` in
  `script-src`; the page holds no inline style, and the images Swagger UI's
  stylesheet inlines as `data:` URLs are served as files of their own (`img-src
  'self'` is enough).
- The page's URLs are relative to it, so it works wherever the sub-app is mounted
  (`app.route(prefix, ...)`, an ASGI `root_path`).
- "Try it out" sends the session cookie (a same-origin request); before an unsafe
  request (POST, PUT, PATCH, DELETE) the page fetches a CSRF token from
  `docs` + "/csrf-token" and sends it in `X-CSRF-Token`. That route answers 404 when the
  app has no session middleware.
- Without swagger-ui-py the page answers 501 saying what to install; the document is
  served regardless.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import logging
import posixpath
import re
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..app import MicroWeb
from ..csrf_protection import csrf_token
from ..middleware._secure_headers import csp_nonce
from ..response import Response
from .document import hide, openapi

if TYPE_CHECKING:
    from ..context import Context

__all__ = ["openapi_routes"]

logger = logging.getLogger("microweb")

PACKAGE = "swagger_ui"
DISTRIBUTION = "swagger-ui-py"
CSS = "swagger-ui.css"
FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    CSS: "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
CACHE = "public, max-age=86400"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"{nonce}></script>
<script{nonce}>
"use strict";
(function () {{
  var config = {config};
  var unsafe = ["POST", "PUT", "PATCH", "DELETE"];
  window.ui = SwaggerUIBundle({{
    url: config.url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: "none",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (request) {{
      // A CSRF-protected route wants the session's token: fetch it first.
      var method = (request.method || "GET").toUpperCase();
      if (unsafe.indexOf(method) < 0 || request.url === config.url) return request;
      var asked = {{credentials: "same-origin", headers: {{Accept: "application/json"}}}};
      return fetch(config.csrf, asked)
        .then(function (answer) {{ return answer.ok ? answer.json() : null; }})
        .then(function (body) {{
          if (body && body.token) request.headers["X-CSRF-Token"] = body.token;
          return request;
        }})
        .catch(function () {{ return request; }});
    }}
  }});
}})();
</script>
</body>
</html>
"""


_DATA_URL = re.compile(
    r'url\((?:"data:(image/[a-z+]+)(?:;charset=utf-8)?(;base64)?,((?:[^"\\]|\\.)*)"'
    r"|data:(image/[a-z+]+)(;base64)?,([^)]*))\)"
)


def _lift_images(css: str) -> tuple[str, dict[str, tuple[str, bytes]]]:
    """`css` with each `data:` image URL replaced by a file name, and those files."""
    images: dict[str, tuple[str, bytes]] = {}

    def lift(match: re.Match[str]) -> str:
        media, encoded, text = match[1] or match[4], match[2] or match[5], match[3] or match[6]
        if encoded:
            data = base64.b64decode(text)
        else:  # CSS escapes (\") inside, URL escapes (%23) inside those
            data = unquote(re.sub(r"\\(.)", r"\1", text)).encode()
        name = f"image-{len(images) + 1}.{media.split('/')[1].partition('+')[0]}"
        images[name] = (media, data)
        return f"url({name})"

    return _DATA_URL.sub(lift, css), images


class _Assets:
    """Swagger UI's files, read once, on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, tuple[str, bytes]] | None = None

    def get(self, name: str) -> tuple[str, bytes] | None:
        if self.files is None:
            files = {
                name: (media, (self.folder / name).read_bytes()) for name, media in FILES.items()
            }
            css, images = _lift_images(files[CSS][1].decode())
            files[CSS] = (files[CSS][0], css.encode())
            self.files = {**files, **images}
        return self.files.get(name)


def _static_dir() -> Path | None:
    """Where swagger-ui-py keeps Swagger UI's files, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def swagger_ui_version() -> str | None:
    """The version of the swagger-ui-py distribution installed, or None."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def openapi_routes(
    app: MicroWeb,
    *,
    title: str,
    version: str,
    path: str = "/openapi.json",
    docs: str = "/docs",
) -> MicroWeb:
    """A sub-app for `app.route("/", ...)` serving `app`'s OpenAPI document at `path` and
    a Swagger UI page for it at `docs`; see the module rules."""
    for name, value in (("path", path), ("docs", docs)):
        if not value.startswith("/") or value == "/" or any(ch in value for ch in ":*?{}"):
            raise ValueError(f"openapi_routes(): {name} must be a plain path like '/docs'")
    routes = MicroWeb()
    built: dict[str, Any] = {}
    folder = _static_dir()
    assets = None if folder is None else _Assets(folder)
    if folder is None:
        logger.warning(
            "openapi_routes(): the %s page needs swagger-ui-py: pip install 'microweb[docs]'", docs
        )
    etag = f'"swagger-ui-py-{swagger_ui_version()}"'
    base = posixpath.basename(docs)
    relative_doc = posixpath.relpath(path, posixpath.dirname(docs))
    config = {"url": relative_doc, "csrf": f"{base}/csrf-token"}

    async def document(c: Context) -> Response:
        if "document" not in built:
            built["document"] = json.dumps(openapi(app, title=title, version=version)).encode()
        return Response(
            built["document"], headers={"cache-control": "no-cache"}, media_type="application/json"
        )

    async def page(c: Context) -> Response:
        if assets is None:
            return c.text(
                "The API docs page needs Swagger UI: pip install 'microweb[docs]'", status=501
            )
        nonce = csp_nonce(c)
        body = PAGE.format(
            title=html.escape(title),
            base=html.escape(base),
            nonce=f' nonce="{html.escape(nonce)}"' if nonce else "",
            config=json.dumps(config).replace("<", "\\u003c"),
        )
        return c.html(body, headers={"cache-control": "no-store"})

    async def asset(c: Context) -> Response:
        name = c.req.param("name")
        found = None if assets is None or name is None else assets.get(name)
        if found is None:
            return c.not_found()
        if c.req.header("if-none-match") == etag:
            return Response(b"", 304, headers={"etag": etag, "cache-control": CACHE})
        media_type, data = found
        return Response(data, headers={"etag": etag, "cache-control": CACHE}, media_type=media_type)

    async def token(c: Context) -> Response:
        if c.get("session") is None:
            return c.not_found()
        return c.json({"token": csrf_token(c)}, headers={"cache-control": "no-store"})

    routes.get(path, hide(document), name="openapi_document")
    routes.get(docs, hide(page), name="openapi_docs")
    routes.get(f"{docs}/csrf-token", hide(token), name="openapi_csrf_token")
    routes.get(f"{docs}/:name", hide(asset), name="openapi_docs_file")
    return routes
