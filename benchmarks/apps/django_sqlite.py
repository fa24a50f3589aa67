"""Django's database sessions on SQLite (the `django_session` table in the benchmark's
SQLite file), in WAL mode with ``synchronous = NORMAL``, as every server of the row."""

from __future__ import annotations

from .django_sessions import configure
from .sql_bench import SQLITE_FILE

app = configure(
    {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": SQLITE_FILE,
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
    }
)
