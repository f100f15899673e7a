"""Job records and wizard sessions in SQLite, in the project's state folder.

The store is the memory across restarts: a restart lists past jobs, and a job that was queued
or running when the server died is marked failed at the next start (:meth:`Store.fail_interrupted`)
instead of being shown as running forever. Live progress is kept in memory by the job manager
and written here on every state change and block.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE: tuple[JobState, ...] = ("queued", "running")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    state TEXT NOT NULL,
    dataset TEXT NOT NULL,
    spec TEXT NOT NULL,
    options TEXT NOT NULL,
    progress TEXT,
    error TEXT,
    result TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    data TEXT NOT NULL
);
"""
JSON_COLUMNS = ("spec", "options", "progress", "error", "result")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class JobRecord:
    """One row of ``jobs``; JSON columns are decoded."""

    id: str
    created_at: datetime
    state: JobState
    dataset: str
    spec: dict[str, Any]
    options: dict[str, Any]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


def _row_to_record(row: sqlite3.Row) -> JobRecord:
    values: dict[str, Any] = dict(row)
    for key in JSON_COLUMNS:
        if values[key] is not None:
            values[key] = json.loads(values[key])
    for key in ("created_at", "started_at", "finished_at"):
        if values[key] is not None:
            values[key] = datetime.fromisoformat(values[key])
    return JobRecord(**values)


def _encode(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key in JSON_COLUMNS:
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class Store:
    """A small SQLite file shared by the request handlers and the job workers.

    One connection behind a lock: writes are a few per second at most, and WAL keeps a
    reader (another server on the same project, ``sqlite3`` in a shell) from blocking them.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # jobs ----------------------------------------------------------------------------------

    def insert_job(self, record: JobRecord) -> None:
        values = {k: _encode(k, v) for k, v in vars(record).items()}
        names = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        with self._tx() as db:
            db.execute(f"INSERT INTO jobs ({names}) VALUES ({marks})", values)

    def update_job(self, job_id: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = :{k}" for k in fields)
        values = {k: _encode(k, v) for k, v in fields.items()}
        with self._tx() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id = :id", {**values, "id": job_id})

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_record(row) if row else None

    def list_jobs(self, limit: int = 50) -> list[JobRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_row_to_record(r) for r in rows]

    def fail_interrupted(self) -> list[JobRecord]:
        """Mark jobs left queued or running by a server that died as failed; return them."""
        error = {
            "title": "Interrupted",
            "detail": "the server stopped while this job was queued or running; "
            "nothing it wrote was committed, so the tables are as they were before",
        }
        with self._tx() as db:
            rows = db.execute("SELECT * FROM jobs WHERE state IN ('queued', 'running')").fetchall()
            db.execute(
                "UPDATE jobs SET state = 'failed', error = ?, finished_at = ? "
                "WHERE state IN ('queued', 'running')",
                (json.dumps(error), now().isoformat()),
            )
        return [_row_to_record(r) for r in rows]

    def throughput(self, limit: int = 10) -> float | None:
        """Median households per second of the last finished jobs: the time estimate's basis."""
        with self._lock:
            rows = self._db.execute(
                "SELECT spec, result FROM jobs WHERE state = 'succeeded' "
                "ORDER BY finished_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        rates = []
        for row in rows:
            seconds = json.loads(row["result"] or "{}").get("seconds")
            if seconds:
                rates.append(json.loads(row["spec"])["households"] / seconds)
        rates.sort()
        return rates[len(rates) // 2] if rates else None

    # wizard sessions -----------------------------------------------------------------------

    def put_session(self, session_id: str, data: dict[str, Any]) -> None:
        stamp = now().isoformat()
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions (id, created_at, updated_at, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, "
                "data = excluded.data",
                (session_id, stamp, stamp, json.dumps(data)),
            )

    def get_session(self, session_id: str) -> tuple[dict[str, Any], datetime] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data, created_at FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            return None
        return json.loads(row["data"]), datetime.fromisoformat(row["created_at"])
