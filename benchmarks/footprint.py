"""Two footprints of microweb: ``import microweb`` time and memory per idle session.

Usage (from the repository root)::

    .venv/bin/python benchmarks/footprint.py [--runs 10] [--sessions 100000] [--json]

- **Import time**: ``python -c "import microweb"`` and ``python -c "pass"`` run ``--runs``
  times each, interleaved, in fresh processes (after one untimed run of each, so bytecode
  caches exist); the result is the difference of the two medians, i.e. what importing microweb
  adds to an interpreter's start.
- **Memory per idle session** (memory driver): an app with ``session(driver="memory")`` gets
  ``--sessions`` requests through ``await app.request(...)``, each without a cookie and each
  incrementing a counter, so each creates one session that then stays idle in the store.
  ``tracemalloc`` counts what is still allocated afterwards; the result is that growth divided
  by the number of sessions created (the session id, the record and the store's bookkeeping).

``benchmarks/throughput.py`` runs this script (``--json``) and puts both numbers in RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script: put the repository root on sys.path so `benchmarks` imports.
_HERE = Path(__file__).resolve().parent
REPO_ROOT = _HERE.parent
sys.path.insert(0, str(REPO_ROOT))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402


def _run_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
    return time.perf_counter() - start


def import_time(runs: int) -> dict[str, float]:
    """Median wall time of ``import microweb`` in a fresh interpreter, minus an empty one."""
    _run_seconds("import microweb")  # untimed: writes the bytecode caches
    _run_seconds("pass")
    with_import: list[float] = []
    empty: list[float] = []
    for _ in range(runs):
        with_import.append(_run_seconds("import microweb"))
        empty.append(_run_seconds("pass"))
    return {
        "import_ms": (statistics.median(with_import) - statistics.median(empty)) * 1000,
        "interpreter_ms": statistics.median(empty) * 1000,
        "runs": runs,
    }


async def _session_memory(sessions: int) -> dict[str, float]:
    from microweb import Context, MicroWeb, Response
    from microweb.sessions import session
    from microweb.sessions.store_memory import MemoryStore

    middleware = session(driver="memory", max_sessions=sessions + 1000)
    store = middleware.manager.store
    assert isinstance(store, MemoryStore)
    app = MicroWeb()
    app.use(middleware)

    @app.get("/session")
    async def visits(c: Context) -> Response:
        return c.json({"visits": c.get("session").increment("visits")})

    # Warm-up: lazy imports, caches and the first allocations of every code path.
    for _ in range(200):
        response = await app.request("/session")
        assert response.status_code == 200, response.status_code
    cookie = response.headers.get("set-cookie", "").split(";", 1)[0]
    again = await app.request("/session", headers={"cookie": cookie})
    assert again.json() == {"visits": 2}, again.json()  # it is a real session
    before_count = len(store)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(sessions):
        await app.request("/session")
    del response, again
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    created = len(store) - before_count
    assert created == sessions, f"{created} sessions created, expected {sessions}"
    return {
        "sessions": created,
        "bytes_per_session": (after - before) / created,
        "total_mib": (after - before) / 2**20,
    }


def session_memory(sessions: int) -> dict[str, float]:
    """Bytes held per idle session by the memory driver, created through the middleware."""
    return asyncio.run(_session_memory(sessions))


def measure(runs: int, sessions: int) -> dict[str, Any]:
    return {"import": import_time(runs), "session_memory": session_memory(sessions)}


def render(result: dict[str, Any]) -> str:
    imp, mem = result["import"], result["session_memory"]
    return "\n".join(
        [
            f"import microweb: {imp['import_ms']:.1f} ms (median of {imp['runs']} fresh "
            f'`python -c "import microweb"` minus `python -c "pass"`, which takes '
            f"{imp['interpreter_ms']:.1f} ms)",
            f"memory per idle session (memory driver, {mem['sessions']:,} sessions): "
            f"{mem['bytes_per_session']:,.0f} bytes ({mem['total_mib']:.1f} MiB in all, "
            "tracemalloc)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="interpreter starts per variant")
    parser.add_argument("--sessions", type=int, default=100_000, help="idle sessions to create")
    parser.add_argument(
        "--json", action="store_true", help="print JSON (for benchmarks/throughput.py)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.sessions < 1:
        parser.error("--runs and --sessions must be >= 1")
    result = measure(args.runs, args.sessions)
    print(json.dumps(result) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
