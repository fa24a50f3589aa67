"""Django's database sessions on PostgreSQL (the `django_session` table in the schema
`microweb_bench_django` of the benchmark's database), through psycopg 3 with Django's
connection pool; commits with ``synchronous_commit = off``, as every server of the row."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from .django_sessions import configure
from .sql_bench import DJANGO_SCHEMA, POSTGRES_URL

_target = conninfo_to_dict(POSTGRES_URL)
app = configure(
    {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _target.get("dbname"),
        "USER": _target.get("user", ""),
        "PASSWORD": _target.get("password", ""),
        "HOST": _target.get("host", ""),
        "PORT": _target.get("port", ""),
        "OPTIONS": {
            "pool": {"min_size": 10, "max_size": 10},
            "options": f"-c search_path={DJANGO_SCHEMA} -c synchronous_commit=off",
        },
    }
)
