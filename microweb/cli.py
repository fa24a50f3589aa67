"""`python -m microweb`: serve an app with uvicorn (`run`), or print its routes (`routes`).

Rules:
- The app is named MODULE:ATTRIBUTE (the attribute may be dotted), imported with the
  current directory first on `sys.path`, as uvicorn does. A name that does not load is
  one line on stderr and exit status 2, never a traceback: a malformed name, a module
  that is not there, a module that fails to import (its error and where it was raised),
  a missing attribute, an object that is not a `MicroWeb`.
- `run` loads the app once to check it, then gives uvicorn the import string, so that
  `--reload` and `--workers` start processes that import it themselves. `--debug` sets
  MICROWEB_DEBUG=1 in the environment they inherit when `--host` is a loopback
  address; on any other host debug stays off (MICROWEB_DEBUG=0, whatever the shell
  said) and stderr says why, unless MICROWEB_DEBUG=force.
- `routes` prints one line per method and path, in registration order (the order in
  which they run), as Hono's `showRoutes({ verbose: true })` lists every registered
  entry: the method, the path, then the names of the middleware and the handler
  registered there. Middleware given to `app.use()` has its own line (method ALL, its
  path): the line says where it applies. A function without a name shows as
  `[middleware]` or `[handler]`, a middleware object as its class's name.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from .app import MicroWeb
from .compose import Route
from .debug import ENV, FORCE, debug_mode, is_loopback_host

__all__ = ["LoadError", "load_app", "main", "route_lines"]

PROG = "python -m microweb"

DESCRIPTION = """\
Serve a microweb app with uvicorn, or print its routes.

MODULE:APP names the app as uvicorn does: examples.app:app is the attribute `app` of
the module examples/app.py, imported from the current directory.
"""

EPILOG = """\
examples:
  python -m microweb run examples.app:app --reload --port 8321
  python -m microweb run examples.app:app --workers 4 --host 0.0.0.0
  python -m microweb run examples.app:app --debug
  python -m microweb routes examples.app:app

`python -m microweb run --help` lists the options of run. Docs: docs/cli.md.
"""

RUN_DESCRIPTION = """\
Serve MODULE:APP with uvicorn.

--debug shows the debug page (tracebacks, the route table) to requests from this
machine, and only when --host is a loopback address; MICROWEB_DEBUG=force in the
environment shows it to any request.
"""


class LoadError(Exception):
    """The app named on the command line could not be loaded; the message says why."""


def load_app(target: str) -> MicroWeb:
    """The `MicroWeb` that `target` ("module:attribute") names."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise LoadError(f"expected MODULE:APP (as examples.app:app), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and (module_name + ".").startswith(err.name + "."):
            raise LoadError(
                f"cannot import {module_name!r}: no module named {err.name!r} "
                f"(looked in {os.getcwd()} and the installed packages)"
            ) from None
        raise LoadError(_import_failure(module_name, err)) from None
    except Exception as err:
        raise LoadError(_import_failure(module_name, err)) from None
    app: Any = module
    for part in attribute.split("."):
        try:
            app = getattr(app, part)
        except AttributeError:
            raise LoadError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(app, MicroWeb):
        raise LoadError(f"{target} is not a MicroWeb app (its type is {type(app).__name__})")
    return app


def _import_failure(module_name: str, err: BaseException) -> str:
    """One line for an error raised while the module imported: what, and where."""
    where = ""
    message = f"{type(err).__name__}: {err}"
    if isinstance(err, SyntaxError):
        message = f"{type(err).__name__}: {err.msg}"
        where = f" ({err.filename}, line {err.lineno})" if err.filename else ""
    else:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if "<frozen" not in f.filename]
        if frames:
            where = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return f"importing {module_name!r} failed: {message.splitlines()[0]}{where}"


# -- routes ------------------------------------------------------------------------------


def _name(route: Route) -> str:
    fn: Any = route.fn
    while True:
        if hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        elif hasattr(fn, "func") and callable(fn.func):  # functools.partial
            fn = fn.func
        else:
            break
    name = getattr(fn, "__name__", None)
    if name is None:
        return type(fn).__name__  # a middleware object: its class
    if not name.isidentifier():  # <lambda>
        return "[handler]" if route.is_handler else "[middleware]"
    return str(name)


def route_lines(app: MicroWeb, color: bool = False) -> list[str]:
    """The route table of `app`: one line per method and path (see the module's rules)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for route in app.routes:
        grouped.setdefault((route.method, route.path), []).append(_name(route))
    method_width = max((len(method) for method, _ in grouped), default=0)
    path_width = max((len(path) for _, path in grouped), default=0)
    lines = []
    for (method, path), names in grouped.items():
        shown = f"\x1b[32m{method}\x1b[0m" if color else method
        padding = " " * (method_width - len(method))
        lines.append(f"{shown}{padding}  {path:<{path_width}}  {' '.join(names)}")
    return lines


# -- the command line --------------------------------------------------------------------


def _number(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected a number from {low} to {high}, got {text!r}")
    return value


def _port(text: str) -> int:
    return _number(text, 0, 65535)


def _workers(text: str) -> int:
    return _number(text, 1, 1024)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="serve MODULE:APP with uvicorn",
        description=RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("app", metavar="MODULE:APP", help="the app, as examples.app:app")
    run.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    run.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    once = run.add_mutually_exclusive_group()
    once.add_argument(
        "--reload", action="store_true", help="restart when a .py file under . changes"
    )
    once.add_argument("--workers", type=_workers, metavar="N", help="number of worker processes")
    run.add_argument(
        "--debug", action="store_true", help=f"show the debug page (sets {ENV}=1; loopback only)"
    )
    routes = commands.add_parser(
        "routes",
        help="print the routes of MODULE:APP, one line per method and path",
        description="Print one line per method and path: the method, the path, then the "
        "names of the middleware and the handler registered there, in the order they run.",
    )
    routes.add_argument("app", metavar="MODULE:APP", help="the app, as examples.app:app")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "run": _run,
        "routes": _routes,
    }
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return commands[args.command](args)
    except LoadError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2


def _routes(args: argparse.Namespace) -> int:
    app = load_app(args.app)
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    for line in route_lines(app, color=color):
        print(line)
    return 0


def _run(args: argparse.Namespace) -> int:
    _set_debug(args.debug, args.host)
    load_app(args.app)
    import uvicorn  # here: `import microweb` does not load the server

    uvicorn.run(args.app, host=args.host, port=args.port, reload=args.reload, workers=args.workers)
    return 0


def _set_debug(flag: bool, host: str) -> None:
    """Put into the environment the MICROWEB_DEBUG the server's processes are to see."""
    try:
        from_env = debug_mode(None)
    except ValueError as err:
        raise LoadError(str(err)) from None
    if from_env is not None and from_env.forced:
        print(f"microweb: debug page on, for every request ({ENV}={FORCE})", file=sys.stderr)
        return
    if not flag and from_env is None:
        return
    if is_loopback_host(host):
        os.environ[ENV] = "1"
        print("microweb: debug page on, for requests from this machine", file=sys.stderr)
        return
    os.environ[ENV] = "0"
    print(
        f"microweb: warning: debug stays off: --host {host} is not a loopback address, and "
        f"the debug page would show tracebacks to other machines ({ENV}={FORCE} shows it "
        "anyway)",
        file=sys.stderr,
    )
