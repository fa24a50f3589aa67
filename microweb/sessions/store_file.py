"""`FileStore`: one JSON file per session in a private directory.

Rules:
- Only ids of the exact `new_id` shape become file names, so a path can never
  leave the directory. The directory is created 0o700, files are 0o600.
- Every read-merge-write and every delete holds an exclusive `fcntl.flock` on
  the session's lock file, so several worker processes merge safely; writes
  go to a temporary file then `os.replace`, so readers never see half a file
  and plain loads need no lock.
- Last activity is the file's mtime (`os.utime` on load); a file
  older than the idle lifetime is expired: it is deleted when met, on `open`
  and every `cleanup_every` saves.
- User indexes are `user-<sha256>.json` files listing session ids.
- Blocking file work runs in a thread (`asyncio.to_thread`).
- Ended sessions are not announced: workers on one host share no feed without
  a server, so each worker's watcher checks its watched sessions instead
  (`time_left`: one `stat` per session, every `check_every` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .store import Change, SessionStore, checked_id, is_valid_id

__all__ = ["FileStore"]


class FileStore(SessionStore):
    """Keep sessions as files in `directory`; `idle_s` is the lifetime used
    when cleaning up expired files."""

    def __init__(
        self, directory: str | os.PathLike[str], idle_s: float = 7200.0, cleanup_every: int = 100
    ) -> None:
        self.directory = Path(directory)
        self.idle_s = idle_s
        self.cleanup_every = cleanup_every
        self._saves = 0

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    async def load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        if not is_valid_id(sid):
            return None
        return await asyncio.to_thread(self._load, sid, idle_s)

    async def save(self, sid: str, change: Change, *, create: bool, idle_s: float) -> bool:
        saved = await asyncio.to_thread(
            self._save, checked_id(sid), change.changed, list(change.removed), create, idle_s
        )
        self._saves += 1
        if self._saves % self.cleanup_every == 0:
            await asyncio.to_thread(self._cleanup, idle_s)
        return saved

    async def destroy(self, sid: str) -> None:
        if is_valid_id(sid):
            await asyncio.to_thread(self._destroy, sid)

    async def index_user(self, user_id: str, sid: str, idle_s: float) -> None:
        await asyncio.to_thread(self._index_user, user_id, checked_id(sid))

    async def destroy_user(self, user_id: str) -> None:
        await asyncio.to_thread(self._destroy_user, user_id)

    async def user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        return await asyncio.to_thread(self._user_sessions, user_id, idle_s)

    async def time_left(self, sids: Sequence[str], idle_s: float) -> list[float | None]:
        return await asyncio.to_thread(self._time_left, list(sids), idle_s)

    def _time_left(self, sids: list[str], idle_s: float) -> list[float | None]:
        now = time.time()
        left: list[float | None] = []
        for sid in sids:
            try:
                remaining = os.stat(self._file(checked_id(sid))).st_mtime + idle_s - now
            except FileNotFoundError:
                remaining = 0.0
            left.append(remaining if remaining > 0 else None)
        return left

    def _user_sessions(self, user_id: str, idle_s: float) -> list[tuple[str, dict[str, str]]]:
        found = []
        for sid in self._read_index(_user_file_name(user_id)):
            record = self._read(self._file(sid), idle_s)  # a read, not a touch
            if record is not None:
                found.append((sid, record))
        return found

    # -- blocking helpers (run in a thread) ----------------------------------

    def _open(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.directory.chmod(0o700)
        self._cleanup(self.idle_s)

    def _file(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def _load(self, sid: str, idle_s: float) -> dict[str, str] | None:
        record = self._read(self._file(sid), idle_s)
        if record is None:
            self._destroy_if_expired(sid, idle_s)
            return None
        with contextlib.suppress(FileNotFoundError):
            os.utime(self._file(sid))
        return record

    def _save(
        self, sid: str, changed: dict[str, str], removed: list[str], create: bool, idle_s: float
    ) -> bool:
        self._ensure_directory()
        path = self._file(sid)
        with self._locked(sid):
            record = self._read(path, idle_s)
            if record is None:
                if not create:
                    return False
                record = {}
            record.update(changed)
            for key in removed:
                record.pop(key, None)
            self._write(path, record)
        return True

    def _destroy(self, sid: str) -> None:
        with self._locked(sid):
            self._file(sid).unlink(missing_ok=True)
            self._lock_file(sid).unlink(missing_ok=True)

    def _destroy_if_expired(self, sid: str, idle_s: float) -> None:
        path = self._file(sid)
        if not path.exists():
            return
        with self._locked(sid):
            if self._read(path, idle_s) is None:
                path.unlink(missing_ok=True)
                self._lock_file(sid).unlink(missing_ok=True)

    def _index_user(self, user_id: str, sid: str) -> None:
        self._ensure_directory()
        name = _user_file_name(user_id)
        with self._locked(name):
            sids = self._read_index(name)
            live = [s for s in sids if s != sid and self._file(s).exists()]
            self._write(self._file(name), {"sids": [*live, sid]})

    def _destroy_user(self, user_id: str) -> None:
        name = _user_file_name(user_id)
        with self._locked(name):
            for sid in self._read_index(name):
                self._destroy(sid)
            self._file(name).unlink(missing_ok=True)
            self._lock_file(name).unlink(missing_ok=True)

    def _read_index(self, name: str) -> list[str]:
        try:
            data = json.loads(self._file(name).read_text())
        except (FileNotFoundError, ValueError):
            return []
        sids = data.get("sids") if isinstance(data, dict) else None
        return [s for s in sids if is_valid_id(s)] if isinstance(sids, list) else []

    def _cleanup(self, idle_s: float) -> None:
        """Delete expired session files and prune user indexes."""
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.json"):
            name = path.stem
            if is_valid_id(name):
                self._destroy_if_expired(name, idle_s)
            elif name.startswith("user-"):
                with self._locked(name):
                    live = [s for s in self._read_index(name) if self._file(s).exists()]
                    if live:
                        self._write(path, {"sids": live})
                    else:
                        path.unlink(missing_ok=True)
                        self._lock_file(name).unlink(missing_ok=True)
        stale = time.time() - 3600
        for tmp in self.directory.glob(".tmp-*"):
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < stale:
                    tmp.unlink()

    def _read(self, path: Path, idle_s: float) -> dict[str, str] | None:
        """Return the live record in `path`, or None (missing, expired, corrupt)."""
        try:
            with path.open("rb") as f:
                if os.fstat(f.fileno()).st_mtime + idle_s <= time.time():
                    return None
                data = json.loads(f.read())
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def _write(self, path: Path, data: object) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".part")
        try:
            # perf: no fsync; a session lost to a power cut is acceptable,
            # a slow write on every request is not.
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self._open()

    def _lock_file(self, name: str) -> Path:
        return self.directory / f"{name}.lock"

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Hold an exclusive flock on `name`'s lock file (across processes)."""
        path = self._lock_file(name)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # A destroy may have unlinked the file while we waited: retry
                # on the new one, or two holders would lock different files.
                with contextlib.suppress(FileNotFoundError):
                    if os.fstat(fd).st_ino == os.stat(path).st_ino:
                        break
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            yield
        finally:
            os.close(fd)


def _user_file_name(user_id: str) -> str:
    return "user-" + hashlib.sha256(user_id.encode()).hexdigest()
