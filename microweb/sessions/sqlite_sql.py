"""The SQL of the SQLite session store, built once per table.

Parameters are `?` or named (`:name`); times are epoch seconds from the host's
clock, passed in. A record is a JSON object of strings in a TEXT column; a save
applies a JSON merge patch (`json_patch`: a member set to null is removed).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SqliteSql", "sqlite_sql"]


class SqliteSql(NamedTuple):
    schema: tuple[str, ...]
    load: str
    slide: str
    merge: str
    update: str
    upsert: str
    generation: str
    destroy: str
    index_user: str
    bump_generation: str
    destroy_user_rows: str
    user_sessions: str
    time_left: str
    sweep: str


def sqlite_sql(table: str) -> SqliteSql:
    """The statements for session table `table` (a checked identifier, no schema)."""
    if "." in table:
        raise ValueError(f"An SQLite session table has no schema: {table!r}")
    users = f"{table}_users"
    merged = "json_patch(data, :patch)"
    return SqliteSql(
        schema=(
            f"""CREATE TABLE IF NOT EXISTS {table} (
                id BLOB PRIMARY KEY,
                data TEXT NOT NULL,
                user_id TEXT,
                expires_at REAL NOT NULL
            )""",
            f"CREATE INDEX IF NOT EXISTS {table}_user_id ON {table} (user_id) "
            "WHERE user_id IS NOT NULL",
            f"CREATE INDEX IF NOT EXISTS {table}_expires_at ON {table} (expires_at)",
            f"""CREATE TABLE IF NOT EXISTS {users} (
                user_id TEXT PRIMARY KEY,
                generation INTEGER NOT NULL DEFAULT 0
            )""",
        ),
        load=f"SELECT data, expires_at FROM {table} WHERE id = ? AND expires_at > ?",
        slide=f"UPDATE {table} SET expires_at = ? WHERE id = ? AND expires_at > ?",
        # The common save, that leaves __user alone: (patch, fresh, expires, id, now).
        merge=(
            f"UPDATE {table} SET data = json_patch(data, ?), "
            "expires_at = CASE WHEN expires_at < ? THEN ? ELSE expires_at END "
            "WHERE id = ? AND expires_at > ?"
        ),
        update=(
            f"UPDATE {table} SET data = {merged}, "
            "user_id = CASE WHEN :user_changes THEN :user ELSE user_id END, "
            "expires_at = CASE WHEN expires_at < :fresh THEN :expires ELSE expires_at END "
            "WHERE id = :id AND expires_at > :now"
        ),
        # A new record, or (the same id twice: two first requests racing) a merge into it;
        # an expired row under that id is replaced, never merged into. The user comes as a
        # parameter (:user, the changed "__user"): json_extract stops at a U+0000.
        upsert=(
            f"INSERT INTO {table} (id, data, user_id, expires_at) "
            "VALUES (:id, :data, :user, :expires) "
            "ON CONFLICT (id) DO UPDATE SET "
            f"data = CASE WHEN expires_at > :now THEN {merged} ELSE excluded.data END, "
            "user_id = CASE WHEN expires_at <= :now THEN excluded.user_id "
            "WHEN :user_changes THEN :user ELSE user_id END, "
            "expires_at = excluded.expires_at"
        ),
        generation=f"SELECT generation FROM {users} WHERE user_id = ?",
        destroy=f"DELETE FROM {table} WHERE id = ?",
        index_user=(
            f"UPDATE {table} SET user_id = ? WHERE id = ? AND user_id IS NOT ? AND expires_at > ?"
        ),
        bump_generation=(
            f"INSERT INTO {users} (user_id, generation) VALUES (?, 1) "
            "ON CONFLICT (user_id) DO UPDATE SET generation = generation + 1"
        ),
        destroy_user_rows=f"DELETE FROM {table} WHERE user_id = ?",
        user_sessions=f"SELECT id, data FROM {table} WHERE user_id = ? AND expires_at > ?",
        time_left=f"SELECT expires_at FROM {table} WHERE id = ? AND expires_at > ?",
        sweep=(
            f"DELETE FROM {table} WHERE rowid IN "
            f"(SELECT rowid FROM {table} WHERE expires_at <= ? LIMIT ?)"
        ),
    )
