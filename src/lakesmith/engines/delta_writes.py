"""Write modes on delta-rs. Each mode ends in exactly one Delta commit, or none.

The data arrives Delta-ready, in memory or as a ``FrameStream`` that delta-rs reads batch by
batch, in every mode. Merge and scd2 first check a stream's keys in a pass of their own over
the key columns (a repeated key fails before anything is written), then stream it into the
MERGE, so memory holds the keys, not the rows. Nothing here decides *what* to write, only how.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import polars as pl
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, SchemaMismatchError
from deltalake.table import TableMerger

from lakesmith.config import models
from lakesmith.errors import ConcurrentWriteError, LakesmithError, WriteError, disk_error

from .frame_stream import FrameStream, plan_errors

_T = TypeVar("_T")
Data = pl.DataFrame | FrameStream
"""What a write takes: rows in memory, or a plan streamed into the table."""
Target = str | DeltaTable
"""A table's URI, or the table as loaded when its state was read: delta-rs then checks the
commit against every commit made since that snapshot."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONFLICT_ATTEMPTS = 12
"""Tries of one commit that keeps losing to concurrent writers (about 10 s of backoff in all)."""
_MERGE_KEY_PREFIX = "__lakesmith_mk_"
COMMIT_VERSION = "commit_version"
"""Metrics key: the version this write committed (absent when it created the table)."""
_APP_TRANSACTION: ContextVar[tuple[str, int] | None] = ContextVar("app_transaction", default=None)
"""The app transaction of the write in progress: set by ``write`` for every commit it makes,
without threading one more argument through each mode."""


def quote(column: str) -> str:
    """Quote an identifier for delta-rs predicates (DataFusion lowercases bare names).

    Raises:
        WriteError: the name holds a backtick, which delta-rs's predicate parser cannot take
            even inside double quotes; refused before any predicate is built.
    """
    if "`" in column:
        raise WriteError(
            f"column {column!r} holds a backtick, which delta-rs cannot use in a merge "
            "condition; the table is unchanged",
            hint="rename the column (e.g. in the transform) before merging on it",
        )
    return '"' + column.replace('"', '""') + '"'


def clean_message(exc: BaseException) -> str:
    return _ANSI.sub("", str(exc)).strip()


def _commit(metadata: Mapping[str, str] | None, *, creating: bool = False) -> CommitProperties:
    """``creating``: no commit retry. delta-rs would otherwise turn a create that lost the race
    for version 0 into a plain append at version 1 (the same rows twice after a merge's or a
    guarded write's create); failing lets lakesmith retry against the table that now exists."""
    txn = _APP_TRANSACTION.get()
    return CommitProperties(
        custom_metadata=dict(metadata or {}),
        max_commit_retries=0 if creating else None,
        app_transactions=[Transaction(app_id=txn[0], version=txn[1])] if txn else None,
    )


def write(
    uri: str,
    df: Data,
    spec: models.WriteSpec,
    *,
    exists: bool,
    commit_metadata: Mapping[str, str] | None = None,
    storage_options: Mapping[str, str] | None = None,
    run_started: datetime,
    app_transaction: tuple[str, int] | None = None,
    guard: Guard | None = None,
) -> dict[str, Any] | None:
    """Apply one write mode; returns delta-rs metrics, or None when there was nothing to do.

    ``app_transaction`` ``(app_id, version)`` is recorded in the commit (Delta ``txn``), so
    ``DeltaTable.transaction_version(app_id)`` tells later whether this write happened;
    delta-rs records it but does not enforce it: callers check before writing. ``guard``
    does that check here and makes the commit conflict with any commit of the same app id
    since the check.

    Raises:
        WriteError: the write was refused (bad keys, schema mismatch ...); table unchanged.
        ConcurrentWriteError: another writer committed first; retrying may succeed.
    """
    opts = dict(storage_options) if storage_options else None
    if nul := [c for c in _columns(df) if "\x00" in c]:  # delta-rs panics on them, uncatchably
        raise WriteError(
            f"column name(s) {nul} hold a NUL character, which Delta cannot store; "
            "nothing was written",
            hint="rename the columns (e.g. in the transform)",
        )
    target: Target = uri
    create = False  # a guarded write that creates the table must not append to a racer's
    if guard is not None:
        app_transaction = (guard.app_id, guard.version)
        loaded = guarded(uri, guard, opts)
        target, exists, create = loaded or uri, loaded is not None, loaded is None
    elif exists:  # written through the loaded table, which then knows its new version
        target = DeltaTable(uri, storage_options=opts)
    with translate_errors(uri), _recording(app_transaction):
        metrics = _apply(target, df, spec, exists, create, commit_metadata, opts, run_started)
    if metrics is not None and isinstance(target, DeltaTable):
        metrics[COMMIT_VERSION] = target.version()
    return metrics


def _apply(
    target: Target,
    df: Data,
    spec: models.WriteSpec,
    exists: bool,
    create: bool,
    commit_metadata: Mapping[str, str] | None,
    opts: dict[str, str] | None,
    run_started: datetime,
) -> dict[str, Any] | None:
    """The write mode itself: one commit, or none."""
    match spec:
        case models.OverwriteWrite():
            mode = "error" if create else "overwrite"
            return _write(target, df, spec, mode, metadata=commit_metadata, opts=opts)
        case models.AppendWrite():
            if exists and _is_empty(df):
                return None
            mode = "error" if create else "append"
            return _write(target, df, spec, mode, metadata=commit_metadata, opts=opts)
        case models.ReplaceWhereWrite():
            predicate = spec.predicate if exists else None
            return _write(
                target,
                df,
                spec,
                "error" if create else "overwrite",
                metadata=commit_metadata,
                opts=opts,
                predicate=predicate,
            )
        case models.MergeWrite():
            return _merge(target, df, spec, exists, commit_metadata, opts)
        case models.Scd2Write():
            return _scd2(target, df, spec, exists, commit_metadata, opts, run_started)
    raise AssertionError(f"unhandled write mode {spec.mode}")


@dataclass(frozen=True)
class Guard:
    """Commit as app ``app_id`` only if its last commit is still ``seen`` (None: none yet).

    ``seen`` is read before the state the write depends on (a watermark), so a commit of the
    same app in between is always caught: by the check, or by delta-rs's conflict check
    (two concurrent commits with one app id conflict) from the snapshot checked onwards.
    """

    app_id: str
    version: int
    seen: int | None


def guarded(uri: str, guard: Guard, opts: dict[str, str] | None) -> DeltaTable | None:
    """The table loaded once: checked, then written against that same snapshot (None: no
    table yet, so the write creates it and fails if a racer created it first)."""
    if not DeltaTable.is_deltatable(uri, storage_options=opts):
        return None
    table = DeltaTable(uri, storage_options=opts)
    if table.transaction_version(guard.app_id) != guard.seen:
        raise ConcurrentWriteError(
            f"another run of {guard.app_id} committed to {uri} after this run read its state",
            hint="nothing was committed; the runner reruns the node from its reads",
        )
    return table


@contextmanager
def _recording(app_transaction: tuple[str, int] | None) -> Iterator[None]:
    token = _APP_TRANSACTION.set(app_transaction)
    try:
        yield
    finally:
        _APP_TRANSACTION.reset(token)


@contextmanager
def translate_errors(uri: str) -> Iterator[None]:
    """delta-rs errors of one commit as lakesmith errors that say what to do.

    Raises:
        WriteError: the write was refused; table unchanged.
        ConcurrentWriteError: another writer committed first; retrying may succeed.
        StorageError: the disk is full, read-only or not writable; nothing was committed.
    """
    try:
        yield
    except (DeltaError, OSError) as exc:
        translated = _translate(exc, uri)
        if translated is None:
            raise
        raise translated from exc


def _translate(exc: BaseException, uri: str) -> LakesmithError | None:
    if (disk := disk_error(exc, "writing the table", uri)) is not None:
        return disk
    if isinstance(exc, CommitFailedError):
        return ConcurrentWriteError(
            f"another writer changed {uri} during this write: {clean_message(exc)}",
            hint="nothing was committed; the runner retries this node when retries > 0",
        )
    if isinstance(exc, SchemaMismatchError):
        return WriteError(
            f"the data does not match the table schema: {clean_message(exc)}",
            hint="set write.schema_evolution: true to add new columns, or cast the columns "
            "in the transform; mode overwrite replaces the schema",
        )
    if isinstance(exc, DeltaError):
        if "table already exists" in str(exc):  # two first writes raced; one created it
            return ConcurrentWriteError(
                f"another writer created {uri} during this write",
                hint="nothing was committed; a retry writes into the table it created",
            )
        return WriteError(f"delta-rs refused the write: {clean_message(exc)}")
    return None


def backoff(attempt: int, base: float) -> float:
    """Exponential backoff with jitter: concurrent retries spread out instead of colliding."""
    return base * 2 ** (attempt - 1) * (1 + random.random() * 0.25)


def retry_conflicts(attempt_write: Callable[[], _T], on_retry: Callable[[int], None]) -> _T:
    """Run one commit again while it loses to concurrent writers, with backoff (capped at 2 s).

    Only for writes computed from their input alone or re-reading the target on each try
    (append, overwrite, replace_where, merge, scd2): a retry then lands on the new version.

    Raises:
        ConcurrentWriteError: still losing after ``CONFLICT_ATTEMPTS`` tries.
    """
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        try:
            return attempt_write()
        except ConcurrentWriteError as exc:
            if attempt == CONFLICT_ATTEMPTS:
                raise ConcurrentWriteError(
                    f"{exc.message} ({attempt} tries)",
                    hint="too many processes write this table at once: schedule them apart "
                    "or raise the node's retries",
                ) from exc
            on_retry(attempt)
            time.sleep(min(backoff(attempt, 0.02), 2.0))
    raise AssertionError("unreachable")


def _columns(data: Data) -> list[str]:
    return data.columns if isinstance(data, pl.DataFrame) else data.schema.names


def _is_empty(data: Data) -> bool:
    return data.height == 0 if isinstance(data, pl.DataFrame) else data.is_empty()


def _lazy(data: Data) -> pl.LazyFrame:
    """The rows as a plan: one more pass over a stream reads its source again."""
    return data.lazy() if isinstance(data, pl.DataFrame) else data.frame


def _write(
    uri: Target,
    df: Data,
    spec: models.WriteSpec,
    mode: Any,
    *,
    metadata: Mapping[str, str] | None,
    opts: dict[str, str] | None,
    predicate: str | None = None,
) -> dict[str, Any]:
    if mode == "overwrite" and predicate is None:
        schema_mode = "overwrite"
    else:
        schema_mode = "merge" if spec.schema_evolution else None
    write_deltalake(
        uri,
        df.to_arrow() if isinstance(df, pl.DataFrame) else df,
        mode=mode,
        partition_by=spec.partition_by or None,
        schema_mode=schema_mode,
        predicate=predicate,
        storage_options=None if isinstance(uri, DeltaTable) else opts,
        commit_properties=_commit(metadata, creating=mode == "error"),
    )
    return {"num_added_rows": df.height if isinstance(df, pl.DataFrame) else df.rows}


def require_key_columns(columns: list[str], keys: list[str], what: str) -> None:
    """Raises WriteError when a merge or scd2 key is not a column of the data."""
    missing = [k for k in keys if k not in columns]
    if missing:
        raise WriteError(
            f"{what} keys {missing} are not columns of the data",
            hint=f"columns: {', '.join(columns)}",
        )


def duplicate_keys_error(what: str, count: int, sample: list[dict[str, Any]]) -> WriteError:
    """The error for a merge or scd2 source in which ``count`` keys repeat."""
    return WriteError(
        f"{count} key(s) appear more than once in the {what} source, e.g. {sample}",
        hint="deduplicate in the transform (e.g. QUALIFY row_number() OVER "
        "(PARTITION BY key ORDER BY updated_at DESC) = 1)",
    )


def _require_unique_keys(data: Data, keys: list[str], what: str) -> int:
    """Fails on a repeated key before anything is written; returns the number of rows.

    One streaming pass over the key columns alone: memory holds one count per key.
    """
    require_key_columns(_columns(data), keys, what)
    counts = _lazy(data).group_by(keys).len()
    repeated = pl.col("len") > 1
    found = counts.select(
        pl.col("len").sum().alias("rows"),
        repeated.sum().alias("repeated"),
        pl.struct(keys).filter(repeated).head(3).implode().alias("sample"),
    ).collect(engine="streaming")
    rows, count, sample = found.row(0)
    if count:
        raise duplicate_keys_error(what, count, sample)
    return rows


def scd2_tracked(columns: list[str], spec: models.Scd2Write) -> list[str]:
    """The columns whose change opens a new version; checks the spec against the data.

    Raises:
        WriteError: the data already has a history column, or names a missing column.
    """
    reserved = {spec.valid_from, spec.valid_to, spec.is_current}
    clash = reserved & set(columns)
    if clash:
        raise WriteError(
            f"scd2 source already has column(s) {sorted(clash)}",
            hint="drop them in the transform or rename valid_from/valid_to/is_current",
        )
    if spec.effective_column and spec.effective_column not in columns:
        raise WriteError(f"effective_column '{spec.effective_column}' is not in the data")
    payload = [c for c in columns if c not in spec.keys]
    tracked = spec.tracked_columns or [c for c in payload if c != spec.effective_column]
    unknown = [c for c in tracked if c not in columns]
    if unknown:
        raise WriteError(f"tracked_columns {unknown} are not columns of the data")
    return tracked


def _merger(
    uri: Target,
    source: Data,
    on: str,
    spec: models.MergeWrite | models.Scd2Write,
    metadata: Mapping[str, str] | None,
    opts: dict[str, str] | None,
) -> TableMerger:
    """A MERGE of ``source`` into the table, with the aliases conditions are written against.

    delta-rs executes it streamed (``streamed_exec``, its default): the source is read once,
    batch by batch, while the target is joined against it.
    """
    table = uri if isinstance(uri, DeltaTable) else DeltaTable(uri, storage_options=opts)
    return table.merge(
        source.to_arrow() if isinstance(source, pl.DataFrame) else source,
        predicate=on,
        source_alias="source",
        target_alias="target",
        merge_schema=spec.schema_evolution,
        commit_properties=_commit(metadata),
    )


def _merge(
    uri: Target,
    df: Data,
    spec: models.MergeWrite,
    exists: bool,
    metadata: Mapping[str, str] | None,
    opts: dict[str, str] | None,
) -> dict[str, Any] | None:
    _require_unique_keys(df, spec.keys, "merge")
    if not exists:  # a new table: only the insert clause can apply, so one plain write
        rows = _where(df, spec.insert_condition) if spec.insert_condition else df
        return _write(uri, rows, spec, "error", metadata=metadata, opts=opts)
    if _is_empty(df) and not spec.delete_unmatched:
        return None
    on = " AND ".join(f"target.{quote(k)} = source.{quote(k)}" for k in spec.keys)
    merger = _merger(uri, df, on, spec, metadata, opts)
    if spec.delete_condition:
        merger = merger.when_matched_delete(predicate=spec.delete_condition)
    merger = merger.when_matched_update_all(predicate=spec.update_condition)
    merger = merger.when_not_matched_insert_all(predicate=spec.insert_condition)
    if spec.delete_unmatched:
        merger = merger.when_not_matched_by_source_delete()
    return merger.execute()


def _where(df: Data, condition: str) -> pl.DataFrame:
    """Rows of the source that satisfy a MERGE condition written against ``source.``: the
    first version of a merged table, held in memory (DuckDB reads a stream batch by batch)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("source", df)
        return con.sql(f"SELECT * FROM source WHERE {condition}").pl()
    except duckdb.Error as exc:
        raise WriteError(
            f"insert_condition does not apply to the source: {str(exc).splitlines()[0]}",
            hint="conditions are SQL over the aliases source and target",
        ) from exc
    finally:
        con.close()


def _scd2(
    uri: Target,
    df: Data,
    spec: models.Scd2Write,
    exists: bool,
    metadata: Mapping[str, str] | None,
    opts: dict[str, str] | None,
    run_started: datetime,
) -> dict[str, Any] | None:
    """Type-2 history as one MERGE over a staged stream.

    Changed keys appear twice in the stage: once with their key (closes the current
    version) and once with a NULL merge key (never matches, so it inserts the new version).
    The stage is a plan joining the source with the table's current versions (keys and
    tracked columns), streamed into the MERGE.
    """
    rows = _require_unique_keys(df, spec.keys, "scd2")
    if isinstance(df, FrameStream):  # read below through other plans, not through df
        df.counted(rows)
    tracked = scd2_tracked(_columns(df), spec)
    ts_type = pl.Datetime("us", "UTC")
    if spec.effective_column:
        effective = pl.col(spec.effective_column).cast(ts_type)
    else:
        effective = pl.lit(run_started, dtype=ts_type)
    versioned = _lazy(df).with_columns(
        effective.alias(spec.valid_from),
        pl.lit(None, dtype=ts_type).alias(spec.valid_to),
        pl.lit(True).alias(spec.is_current),
    )
    if not exists:
        first = FrameStream(versioned)
        with plan_errors(first):
            return _write(uri, first, spec, "error", metadata=metadata, opts=opts)

    current = (
        pl.scan_delta(uri, storage_options=None if isinstance(uri, DeltaTable) else opts)
        .filter(pl.col(spec.is_current))
        .select([*spec.keys, *tracked])
        .with_columns(pl.lit(True).alias("__found"))
    )
    columns = versioned.collect_schema().names()
    found = pl.col("__found").fill_null(False)
    differs = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"{c}__cur")) for c in tracked] or [pl.lit(False)]
    )
    changed = found & differs
    keyed = pl.col("__keyed")  # a changed key: a keyed row and an unkeyed one; a new key: one
    key_cols = {k: f"{_MERGE_KEY_PREFIX}{k}" for k in spec.keys}
    stage = FrameStream(
        versioned.join(current, on=spec.keys, how="left", suffix="__cur", nulls_equal=True)
        .filter(changed | ~found)
        .with_columns(
            pl.when(changed).then(pl.lit([True, False])).otherwise(pl.lit([False])).alias("__keyed")
        )
        .explode("__keyed")
        .select(*columns, *(pl.when(keyed).then(pl.col(k)).alias(mk) for k, mk in key_cols.items()))
    )
    if stage.is_empty():
        return None
    on = " AND ".join(f"target.{quote(k)} = source.{quote(mk)}" for k, mk in key_cols.items())
    on += f" AND target.{quote(spec.is_current)} = true"
    inserts = {quote(c): f"source.{quote(c)}" for c in columns}
    with plan_errors(stage):
        return (
            _merger(uri, stage, on, spec, metadata, opts)
            .when_matched_update(
                {
                    quote(spec.valid_to): f"source.{quote(spec.valid_from)}",
                    quote(spec.is_current): "false",
                }
            )
            .when_not_matched_insert(inserts)
            .execute()
        )
