"""Leftovers in a local warehouse: data files no Delta commit took, and stale stream locks.

A write killed before its commit leaves Parquet files in the table folder that no reader
ever sees (so they are harmless but take space); a synth job killed mid-way leaves its parts
and temporary files the same way. A stream removed from the project leaves its lock file and
its checkpoint (rows in ``_lakesmith.stream_offsets``, a Spark checkpoint folder, its
auto_cdc tombstones under ``_lakesmith/_cdc_tombstones``).
Files younger than the safety age are never touched: a writer may be about to commit them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lakesmith.catalog.local import LocalCatalog
from lakesmith.synth.writer import uncommitted

DEFAULT_MIN_AGE_S = 3600.0
"""Like vacuum's retention: an hour is far longer than any write takes to commit."""

Kind = Literal["uncommitted_file", "stale_lock", "stream_checkpoint"]
REPORT_ONLY: frozenset[str] = frozenset({"stream_checkpoint"})
"""Listed, never deleted: stream ids are not per project, so a checkpoint another project on
the same warehouse still uses looks the same, and losing it would load its files again."""


@dataclass(frozen=True)
class Leftover:
    kind: Kind
    path: Path
    where: str
    """The table (catalog.schema.table) or stream the leftover belongs to."""
    size: int
    age_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "path": str(self.path),
            "age_s": round(self.age_s, 1),
            "removable": self.kind not in REPORT_ONLY,
        }


def find(
    catalog: LocalCatalog, streams: set[str], *, min_age_s: float = DEFAULT_MIN_AGE_S
) -> tuple[list[Leftover], list[str]]:
    """Leftovers older than ``min_age_s``, and the tables that could not be checked.

    ``streams`` are the project's stream ids (``<pipeline>.<node>``): their locks are in use
    or reusable, so only locks of other streams count.
    """
    now = time.time()
    found: list[Leftover] = []
    skipped: list[str] = []
    for ref in catalog.list_tables(system=True):
        where = catalog.location(ref)
        if where.local_path is None:
            skipped.append(ref.full_name)  # object storage: not listed file by file here
            continue
        for path in uncommitted(where.local_path):
            stat = path.stat()
            if now - stat.st_mtime >= min_age_s:
                found.append(
                    Leftover(
                        "uncommitted_file", path, ref.full_name, stat.st_size, now - stat.st_mtime
                    )
                )
    for where, folder in [*_never_committed(catalog), *_tombstone_stores(catalog)]:
        for path in uncommitted(folder):
            stat = path.stat()
            if now - stat.st_mtime >= min_age_s:
                found.append(
                    Leftover("uncommitted_file", path, where, stat.st_size, now - stat.st_mtime)
                )
    found += [x for x in _stale_locks(catalog, streams, now) if x.age_s >= min_age_s]
    found += _checkpoints(catalog, streams, now)
    return found, skipped


def _never_committed(catalog: LocalCatalog) -> list[tuple[str, Path]]:
    """Table folders (``<catalog>/<schema>/<table>``) of a local warehouse without a Delta log.

    The first write of a table killed before its commit leaves its data files in a folder
    no reader takes for a table. Folders whose name starts with ``_`` or ``.`` (Spark
    checkpoints) are not table folders.
    """
    root = catalog.root.local_path
    if root is None:
        return []
    return [
        (".".join(folder.relative_to(root).parts), folder)
        for folder in sorted(root.glob("*/*/*"))
        if folder.is_dir() and folder.name[0] not in "._" and not (folder / "_delta_log").is_dir()
    ]


def _stream_folders(catalog: LocalCatalog, kind: str) -> list[Path]:
    """Per-stream folders of a kind under each catalog's ``_lakesmith`` schema: Spark
    checkpoints, auto_cdc tombstones (a Delta table each, named by stream id)."""
    from lakesmith.catalog.local import SYSTEM_SCHEMA

    root = catalog.root.local_path
    if root is None:
        return []
    return [f for f in sorted(root.glob(f"*/{SYSTEM_SCHEMA}/{kind}/*")) if f.is_dir()]


def _tombstone_stores(catalog: LocalCatalog) -> list[tuple[str, Path]]:
    """auto_cdc tombstone tables: not catalog tables, yet their writes can leave files too."""
    from lakesmith.streaming.tombstones import FOLDER

    return [("/".join(f.parts[-4:]), f) for f in _stream_folders(catalog, FOLDER)]


def _checkpoints(catalog: LocalCatalog, streams: set[str], now: float) -> list[Leftover]:
    """Checkpoints of stream ids the project does not have (embedded and local Spark): the
    offsets and commits rows, the Spark checkpoint folder and the auto_cdc tombstones."""
    import polars as pl

    from lakesmith.catalog.local import SYSTEM_SCHEMA
    from lakesmith.streaming.checkpoint import OFFSETS
    from lakesmith.streaming.spark import CHECKPOINTS, ENGINE_SUFFIX
    from lakesmith.streaming.tombstones import FOLDER

    found: list[Leftover] = []
    for ref in catalog.list_tables(system=True):
        path = catalog.location(ref).local_path
        if ref.schema != SYSTEM_SCHEMA or ref.table != OFFSETS or path is None:
            continue
        ids = pl.read_delta(str(path), columns=["stream_id"])["stream_id"].unique().sort()
        for stream_id in ids.to_list():
            if stream_id not in streams:
                found.append(Leftover("stream_checkpoint", path, stream_id, 0, 0.0))
    for folder in [*_stream_folders(catalog, CHECKPOINTS), *_stream_folders(catalog, FOLDER)]:
        if folder.name.removesuffix(ENGINE_SUFFIX) not in streams:
            age = now - folder.stat().st_mtime
            found.append(Leftover("stream_checkpoint", folder, folder.name, 0, age))
    return found


def _stale_locks(catalog: LocalCatalog, streams: set[str], now: float) -> list[Leftover]:
    from lakesmith.streaming.lock import lock_folder

    folder = lock_folder(catalog)
    if not folder.is_dir():
        return []
    found: list[Leftover] = []
    for path in sorted(folder.glob("*.lock")):
        if path.stem in streams or _held(path):
            continue
        stat = path.stat()
        found.append(Leftover("stale_lock", path, path.stem, stat.st_size, now - stat.st_mtime))
    return found


def _held(path: Path) -> bool:
    """Whether a process holds the lock now (a stream still running from an older checkout)."""
    try:
        import fcntl
    except ImportError:
        return False
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def clean(found: list[Leftover]) -> int:
    """Delete the leftovers (not those in ``REPORT_ONLY``); returns the bytes freed."""
    freed = 0
    for item in found:
        if item.kind in REPORT_ONLY:
            continue
        item.path.unlink(missing_ok=True)
        freed += item.size
    return freed
