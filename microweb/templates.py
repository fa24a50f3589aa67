"""`jinja()`: Jinja2 templates, rendered with `c.render(name, context, status, headers)`.

Rules:
- One `Environment` per `jinja()` call, built when the factory is called;
  Jinja caches compiled templates (and checks files for changes unless
  `auto_reload=False` is passed among `env_options`).
- Autoescaping is on for `.html`, `.htm`, `.xml` and `.jinja` templates, so a
  value never becomes markup unless it is marked safe.
- Every template sees `c`, `session` (or None), `flashes` (this request's
  flash data; looked up only if the template reads it), `csrf_field()` (the
  hidden token input), `csrf_token()` (the token alone, freshly masked, for a
  `<meta>` tag a script reads), `csp_nonce()` (this request's CSP nonce, ""
  when none) and `url_for(name, **params)` (the app's reverse routing);
  neither CSRF helper ever writes the session's raw token into the page. The
  render context given to `c.render` wins over these names.
- A template that does not exist is an error logged with its name, and the
  client gets the plain 500 page: no template name, no directory.
- Jinja2 is imported here only, so `import microweb` stays free of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .compose import Middleware, Next
from .context import RENDERER
from .response import HTML_TYPE, HeadersInit, Response

if TYPE_CHECKING:
    from .context import Context

__all__ = ["Jinja", "jinja"]


class _Flashes(Mapping[str, Any]):
    """The request's flash data, read from the session on first use."""

    __slots__ = ("_c", "_data")

    def __init__(self, c: Context) -> None:
        self._c = c
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            session = self._c.get("session")
            self._data = session.flashes() if session is not None else {}
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class Jinja(Middleware):
    """The middleware `jinja()` returns; `env` is its `jinja2.Environment`."""

    def __init__(self, directory: str | os.PathLike[str], **env_options: Any) -> None:
        import jinja2
        from markupsafe import Markup

        from .csrf_protection import csrf_field, csrf_token
        from .middleware._secure_headers import csp_nonce

        if not os.path.isdir(directory):
            raise ValueError(f"jinja(): {os.fspath(directory)!r} is not a directory")
        env_options.setdefault(
            "autoescape", jinja2.select_autoescape(("html", "htm", "xml", "jinja"))
        )
        env_options.setdefault("loader", jinja2.FileSystemLoader(directory))
        self.env = jinja2.Environment(**env_options)  # noqa: S701 (autoescape set above)

        def render(
            c: Context,
            name: str,
            context: Mapping[str, Any] | None,
            status: int,
            headers: HeadersInit,
        ) -> Response:
            template = self.env.get_template(name)
            values: dict[str, Any] = {
                "c": c,
                "session": c.get("session"),
                "flashes": _Flashes(c),
                "csrf_field": lambda: Markup(csrf_field(c)),  # noqa: S704 (it escapes)
                "csrf_token": lambda: csrf_token(c),
                "csp_nonce": lambda: csp_nonce(c),
                "url_for": c.app.url_for,
            }
            if context:
                values.update(context)
            body = template.render(values)
            return Response(body, status, headers, media_type=HTML_TYPE)

        self._render = render

    async def __call__(self, c: Context, next: Next) -> None:
        c.set(RENDERER, self._render)
        await next()


def jinja(directory: str | os.PathLike[str], **env_options: Any) -> Jinja:
    """Template middleware: `app.use(jinja("templates"))`, then `c.render("page.html", {...})`.
    `env_options` go to `jinja2.Environment`."""
    return Jinja(directory, **env_options)
