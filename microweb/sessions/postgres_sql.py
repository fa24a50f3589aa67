"""The SQL of the PostgreSQL session store, built once per table.

Every statement is one round trip and runs in autocommit, except `destroy_user`'s
two, which run in one transaction. Parameters are psycopg's named ones
(`%(name)s`), except in the statements of every request (load, slide, merge),
whose positional ones (`%s`, in the order their comment gives) cost less to
send; times are seconds (`%(idle)s * interval '1 second'`).

- Ordinary saves and expiry slides commit with `synchronous_commit` off for
  their own transaction only (`set_config(..., true)`): a crash of the
  database server may lose the last few hundred milliseconds of them, as a
  crash of the app would lose the request in flight. Creating a signed-in
  record (login, regenerate), destroying records (logout) and logout
  everywhere commit with the server's setting (`on` unless changed): once the
  app confirms them, they are on disk.
- A save writes `expires_at` only when it has fallen behind (the slide rule in
  `sql_base`), and `user_id` only when `__user` changes, so most saves change
  no indexed column and PostgreSQL can update the row in place (a HOT update;
  the table leaves 20% of each page free for them).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PostgresSql", "postgres_sql"]

_ASYNC_COMMIT = "(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
_SECONDS = "* interval '1 second'"


class PostgresSql(NamedTuple):
    schema: str
    tables_exist: str
    lock_schema: str
    load: str
    slide: str
    merge: str
    update: str
    upsert: str
    save_signed_in: str
    destroy: str
    index_user: str
    bump_generation: str
    destroy_user_rows: str
    user_sessions: str
    time_left: str
    sweep: str
    sweep_users: str


def postgres_sql(table: str) -> PostgresSql:
    """The statements for session table `table` (a checked identifier)."""
    users = f"{table}_users"
    name = table.rpartition(".")[2]
    merged = "(s.data - %(removed)s::text[]) || %(changed)s::jsonb"
    slid = (
        f"CASE WHEN s.expires_at < now() + %(fresh)s {_SECONDS} "
        f"THEN now() + %(idle)s {_SECONDS} ELSE s.expires_at END"
    )
    return PostgresSql(
        schema=f"""
            CREATE TABLE IF NOT EXISTS {table} (
                id bytea PRIMARY KEY,
                data jsonb NOT NULL,
                user_id text,
                expires_at timestamptz NOT NULL
            ) WITH (fillfactor = 80);
            CREATE INDEX IF NOT EXISTS {name}_user_id ON {table} (user_id)
                WHERE user_id IS NOT NULL;
            CREATE INDEX IF NOT EXISTS {name}_expires_at ON {table} (expires_at);
            CREATE TABLE IF NOT EXISTS {users} (
                user_id text PRIMARY KEY,
                generation bigint NOT NULL DEFAULT 0
            )""",
        tables_exist=(
            f"SELECT to_regclass('{table}') IS NOT NULL, to_regclass('{users}') IS NOT NULL"
        ),
        lock_schema="SELECT pg_advisory_xact_lock(%(lock)s)",
        # Positional parameters, in order: (fresh, id).
        load=(
            f"SELECT data, expires_at < now() + %s {_SECONDS} "
            f"FROM {table} WHERE id = %s AND expires_at > now()"
        ),
        # (idle, id)
        slide=(
            f"UPDATE {table} SET expires_at = now() + %s {_SECONDS} FROM {_ASYNC_COMMIT} "
            "WHERE id = %s AND expires_at > now()"
        ),
        # The common save, that removes nothing and leaves __user alone: (changed, fresh,
        # idle, id).
        merge=(
            f"UPDATE {table} AS s SET data = s.data || %s::jsonb, "
            f"expires_at = CASE WHEN s.expires_at < now() + %s {_SECONDS} "
            f"THEN now() + %s {_SECONDS} ELSE s.expires_at END FROM {_ASYNC_COMMIT} "
            "WHERE s.id = %s AND s.expires_at > now()"
        ),
        update=(
            f"UPDATE {table} AS s SET data = {merged}, expires_at = {slid}, "
            f"user_id = CASE WHEN %(user_changes)s THEN ({merged}) ->> '__user' "
            f"ELSE s.user_id END FROM {_ASYNC_COMMIT} "
            "WHERE s.id = %(id)s AND s.expires_at > now()"
        ),
        # A new record, or (the same id twice: two first requests racing) a merge into it;
        # an expired row under that id is replaced, never merged into.
        upsert=(
            f"INSERT INTO {table} AS s (id, data, user_id, expires_at) "
            f"SELECT %(id)s, %(changed)s::jsonb, %(changed)s::jsonb ->> '__user', "
            f"now() + %(idle)s {_SECONDS} FROM {_ASYNC_COMMIT} "
            "ON CONFLICT (id) DO UPDATE SET "
            f"data = CASE WHEN s.expires_at > now() THEN {merged} ELSE excluded.data END, "
            "user_id = CASE WHEN s.expires_at > now() "
            f"THEN ({merged}) ->> '__user' ELSE excluded.user_id END, "
            "expires_at = excluded.expires_at"
        ),
        # Lock the user's row (made on first use), read their generation, and store the
        # record with it, unless the generation moved since the session was loaded; one
        # statement, so a logout everywhere (which bumps the generation under the same
        # row lock) is either before it (and refuses it) or after it (and deletes it).
        save_signed_in=f"""
            WITH u AS (
                INSERT INTO {users} AS u (user_id) VALUES (%(user)s)
                ON CONFLICT (user_id) DO UPDATE SET generation = u.generation
                RETURNING generation
            ), saved AS (
                INSERT INTO {table} AS s (id, data, user_id, expires_at)
                SELECT %(id)s,
                    %(changed)s::jsonb || jsonb_build_object('__gen', u.generation::text),
                    %(user)s, now() + %(idle)s {_SECONDS}
                FROM u WHERE %(expected)s = '' OR %(expected)s = u.generation::text
                ON CONFLICT (id) DO UPDATE SET
                    data = (s.data - %(removed)s::text[]) || excluded.data,
                    user_id = excluded.user_id, expires_at = excluded.expires_at
                RETURNING 1
            )
            SELECT count(*) FROM saved""",
        destroy=f"DELETE FROM {table} WHERE id = %(id)s",
        index_user=(
            f"UPDATE {table} SET user_id = %(user)s "
            "WHERE id = %(id)s AND user_id IS DISTINCT FROM %(user)s AND expires_at > now()"
        ),
        bump_generation=(
            f"INSERT INTO {users} AS u (user_id, generation) VALUES (%(user)s, 1) "
            "ON CONFLICT (user_id) DO UPDATE SET generation = u.generation + 1"
        ),
        # A statement of its own, after the bump: it reads a snapshot taken once the
        # bump holds the user's row, so it sees every login committed before that.
        destroy_user_rows=f"DELETE FROM {table} WHERE user_id = %(user)s",
        user_sessions=(
            f"SELECT id, data FROM {table} WHERE user_id = %(user)s AND expires_at > now()"
        ),
        # A read only: nothing slides.
        time_left=(
            "SELECT id, extract(epoch FROM expires_at - now())::float8 "
            f"FROM {table} WHERE id = ANY(%(ids)s) AND expires_at > now()"
        ),
        # One batch; the advisory lock (this transaction's) keeps other workers' batches
        # out, and SKIP LOCKED passes over rows a request is writing.
        sweep=f"""
            WITH lock AS (SELECT pg_try_advisory_xact_lock(%(lock)s) AS held),
            gone AS (
                DELETE FROM {table} WHERE ctid IN (
                    SELECT ctid FROM {table}
                    WHERE expires_at <= now() AND (SELECT held FROM lock)
                    LIMIT %(batch)s FOR UPDATE SKIP LOCKED
                ) RETURNING 1
            )
            SELECT (SELECT held FROM lock), (SELECT count(*) FROM gone)""",
        # Users with no session and no logout everywhere behind them hold nothing: their
        # generation is the 0 a new row would get.
        sweep_users=f"""
            WITH lock AS (SELECT pg_try_advisory_xact_lock(%(lock)s) AS held)
            DELETE FROM {users} AS u WHERE u.user_id IN (
                SELECT user_id FROM {users} AS g
                WHERE g.generation = 0 AND (SELECT held FROM lock)
                AND NOT EXISTS (SELECT 1 FROM {table} AS s WHERE s.user_id = g.user_id)
                LIMIT %(batch)s FOR UPDATE SKIP LOCKED
            )""",
    )
