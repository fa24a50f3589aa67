"""Where the SQL session rows keep their sessions: one PostgreSQL database and one SQLite
file, shared by the microweb, Django and hand-written servers of each row (each with its
own tables, which `benchmarks/throughput.py` drops before and after a run).

- `BENCH_DATABASE_URL` (default: `DATABASE_URL`, else postgresql://postgres@127.0.0.1:5432/test);
  Django's `django_session` table goes in the schema `DJANGO_SCHEMA` of that database.
- `BENCH_SQLITE_FILE` (default /tmp/microweb-bench-sessions.db).

Every server commits an ordinary save the same way, so the rows compare software, not
disks: PostgreSQL with `synchronous_commit = off` (what microweb's driver does for
ordinary saves), SQLite in WAL mode with `synchronous = NORMAL`.
"""

from __future__ import annotations

import os

POSTGRES_URL = os.environ.get(
    "BENCH_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
SQLITE_FILE = os.environ.get("BENCH_SQLITE_FILE", "/tmp/microweb-bench-sessions.db")
MICROWEB_TABLE = "microweb_bench_sessions"
BARE_TABLE = "bare_bench_sessions"
DJANGO_SCHEMA = "microweb_bench_django"
